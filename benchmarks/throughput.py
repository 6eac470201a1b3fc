"""Training throughput: tenshot's engine (Lightning, with its callbacks) against a plain
PyTorch loop over the *same* model, data, batch size, optimizer and threads, measured
in the same process, alternating A/B/A/B so that machine noise hits both alike.

    python benchmarks/throughput.py [--method denoising-ae] [--n 10000] [--epochs 2]

Prints a Markdown table and the ratio (engine / plain; the target is >= 0.9), writes JSON.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.utils.data import DataLoader, TensorDataset

from _common import beside, fashion_or_digits, save
from tenshot.config import TrainConfig
from tenshot.registry import get_method
from tenshot.training import fit


def build(method: str, shape, train: TrainConfig):
    method_cls, config_cls = get_method(method)
    torch.manual_seed(train.seed)
    return method_cls(config_cls(), shape, train)


def plain_loop(model, x: torch.Tensor, train: TrainConfig) -> float:
    """The loop a PyTorch user would write: shuffle, loss, backward, step. Seconds."""
    start = time.perf_counter()
    model.train()
    opt = model.configure_optimizers()
    loader = DataLoader(TensorDataset(x), batch_size=train.batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(train.seed))
    for _ in range(train.epochs):
        for (batch,) in loader:
            loss = model.losses(batch)["loss"]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return time.perf_counter() - start


def engine(model, x: torch.Tensor, train: TrainConfig) -> float:
    """tenshot.training.fit end to end: Trainer set-up, first-batch check, callbacks."""
    start = time.perf_counter()
    fit(model, x, train)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--method", default="denoising-ae")
    ap.add_argument("--data", default=None)
    ap.add_argument("--n", type=int, default=10000, help="training images")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=3, help="A/B pairs")
    ap.add_argument("--threads", type=int, default=None, help="torch threads for both loops (default: torch's)")
    ap.add_argument("--out", default=beside("throughput.json"))
    args = ap.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    ds = fashion_or_digits(args.data)
    x = ds.x_train[: args.n]
    train = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, accelerator="cpu", devices="1", progress=False,
                        threads=args.threads)
    samples = len(x) * args.epochs
    times: dict[str, list[float]] = {"plain PyTorch loop": [], "tenshot engine": []}
    for _ in range(args.repeats):
        times["plain PyTorch loop"].append(plain_loop(build(args.method, ds.input_shape, train), x, train))
        times["tenshot engine"].append(engine(build(args.method, ds.input_shape, train), x, train))

    rate = {k: samples / statistics.median(v) for k, v in times.items()}
    ratio = rate["tenshot engine"] / rate["plain PyTorch loop"]
    print(f"\n{args.method} on {len(x)} {ds.name} images x {args.epochs} epochs, batch {args.batch_size}, "
          f"{torch.get_num_threads()} threads, median of {args.repeats}\n")
    print("| loop | samples/s | seconds (each repeat) |\n|---|---|---|")
    for k, v in times.items():
        print(f"| {k} | {rate[k]:.0f} | {', '.join(f'{t:.2f}' for t in v)} |")
    print(f"\nratio engine / plain = {ratio:.3f} (target >= 0.9)")
    save(args.out, {"method": args.method, "data": ds.name, "n": len(x), "epochs": args.epochs,
                    "batch_size": args.batch_size, "seconds": times, "samples_per_second": rate, "ratio": ratio})


if __name__ == "__main__":
    main()
