"""wta-ae training step: the decoder as a dense transposed conv of the winner-take-all
maps, against pasting one filter copy per winner (``tenshot.nn.winner_take_all.paste_filters``,
what ``wta-ae`` trains with). Same model, same batch, same threads, alternating A/B in
one process so that machine noise hits both alike; the two give the same loss (checked
here too) and the same gradients (``tests/methods/test_wta.py``).

    python benchmarks/wta_decoder.py [--steps 10] [--batch-size 100] [--threads 1]

Prints a Markdown table (ms per training step, and the speed-up), writes JSON.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from _common import beside, save
from tenshot.losses import reconstruction_loss
from tenshot.methods.wta import WTAAutoencoder, WTAConfig
from tenshot.nn.winner_take_all import winner_take_all

# (label, config): the first wta-ae default, and the wide one-layer nets the fast decoder
# made affordable (512 maps is the default now)
CONFIGS = {
    "64 maps x 2 layers, 5x5, decoder 11x11": {"width": 64, "n_layers": 2, "kernel": 5, "decoder_kernel": 11},
    "256 maps x 1 layer, 7x7, decoder 7x7": {"width": 256, "n_layers": 1, "kernel": 7, "decoder_kernel": 7},
    "512 maps x 1 layer, 7x7, decoder 7x7 (the default)": {"width": 512, "n_layers": 1, "kernel": 7, "decoder_kernel": 7},
}


def dense_loss(model: WTAAutoencoder, x: torch.Tensor) -> torch.Tensor:
    """The textbook step: zero the losers, then the full transposed conv."""
    h = winner_take_all(model.maps(x)[-1], model.config.lifetime)
    return reconstruction_loss(model.decoder(h), x, "linear-mse")


def pasted_loss(model: WTAAutoencoder, x: torch.Tensor) -> torch.Tensor:
    return model.losses(x)["loss"]  # training mode: the pasted decoder


def seconds_per_step(model: WTAAutoencoder, loss_fn, x: torch.Tensor, steps: int) -> float:
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    start = time.perf_counter()
    for _ in range(steps):
        loss = loss_fn(model, x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return (time.perf_counter() - start) / steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=10, help="training steps per timing")
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3, help="A/B pairs per configuration")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--out", default=beside("wta_decoder.json"))
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    torch.manual_seed(0)
    x = torch.rand(args.batch_size, 1, 28, 28)  # timing only: the cost does not depend on the pixels
    rows = []
    for label, params in CONFIGS.items():
        model = WTAAutoencoder(WTAConfig(**params), (1, 28, 28)).train()
        with torch.no_grad():
            gap = abs(float(dense_loss(model, x)) - float(pasted_loss(model, x)))
        times: dict[str, list[float]] = {"dense": [], "pasted": []}
        for _ in range(args.repeats):
            times["dense"].append(seconds_per_step(model, dense_loss, x, args.steps))
            times["pasted"].append(seconds_per_step(model, pasted_loss, x, args.steps))
        median = {k: statistics.median(v) for k, v in times.items()}
        rows.append({"config": label, "params": params, "ms_per_step": {k: 1000 * v for k, v in median.items()},
                     "speedup": median["dense"] / median["pasted"], "loss_gap": gap, "seconds": times})

    print(f"\nwta-ae training step, batch {args.batch_size}, 28x28 gray, {torch.get_num_threads()} threads, "
          f"median of {args.repeats} x {args.steps} steps\n")
    print("| configuration | dense decoder, ms/step | pasted, ms/step | speed-up | loss gap |\n|---|---|---|---|---|")
    for r in rows:
        ms = r["ms_per_step"]
        print(f"| {r['config']} | {ms['dense']:.0f} | {ms['pasted']:.0f} | {r['speedup']:.2f}x | {r['loss_gap']:.1e} |")
    save(args.out, {"batch_size": args.batch_size, "steps": args.steps, "repeats": args.repeats, "rows": rows})


if __name__ == "__main__":
    main()
