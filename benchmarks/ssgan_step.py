"""ssgan training speed: the ways of running its step, side by side in one process.

    python benchmarks/ssgan_step.py [--n 6000] [--epochs 1] [--repeats 3] [--threads 2]

Each variant trains the paper's MNIST-sized ssgan through ``tenshot.training.fit`` (the
engine users get) on the same images, labels, seed and threads; the variants alternate
A/B/C within each repeat so that machine noise hits all alike:

- "a D pass per batch": D over the unlabeled, generated and labeled batches one after
  the other, each rebuilding its weight-normed weights, and Adam's per-tensor updates
  (how ssgan ran before one joint pass);
- "one D pass": ``SSGAN.discriminate`` (one pass over the concatenated batches, cached
  weight-norm weights) and fused Adam, the default;
- "one D pass, bf16": the same under ``--precision bf16-mixed`` (bfloat16 matrix products
  where the CPU has them; float32 weights and optimizer);
- "one D pass, manifold regulariser": the default with ``manifold_weight`` > 0 (G makes a
  neighbour of every fake, D classifies it too: the cost of the option).

Prints a Markdown table (median seconds per epoch of 60k images, speed-up against the
first variant) and writes JSON.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from functools import partial

import numpy as np
import torch

from _common import beside, fashion_or_digits, save
from tenshot.config import TrainConfig
from tenshot.methods.ssgan import SSGAN, SSGANConfig, trainable
from tenshot.training import fit


def per_batch(model: SSGAN) -> SSGAN:
    """``model`` running D once per batch, with unfused Adam: the step before the joint pass."""
    model.discriminate = lambda *batches, tie=None: [model.discriminator(b) for b in batches]  # type: ignore[method-assign]

    def optimizers():
        adam = partial(torch.optim.Adam, betas=(model.config.beta1, 0.999))
        return [adam(trainable(model.discriminator), lr=model.config.lr_d),
                adam(trainable(model.generator), lr=model.config.lr_g)]

    model.configure_optimizers = optimizers  # type: ignore[method-assign]
    return model


# name -> (precision, SSGANConfig overrides, how the model is changed)
VARIANTS = {
    "a D pass per batch": ("32-true", {}, per_batch),
    "one D pass": ("32-true", {}, lambda m: m),
    "one D pass, bf16": ("bf16-mixed", {}, lambda m: m),
    "one D pass, manifold regulariser": ("32-true", {"manifold_weight": 0.001}, lambda m: m),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=None)
    ap.add_argument("--n", type=int, default=6000, help="unlabeled training images")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3, help="rounds of all variants")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=beside("ssgan_step.json"))
    args = ap.parse_args()

    ds = fashion_or_digits(args.data)
    x, y = ds.x_train[: args.n], ds.y_train[: args.n].numpy()
    picked = np.concatenate([np.flatnonzero(y == c)[:10] for c in np.unique(y)])  # 10 labels per class
    labeled = (x[picked], torch.as_tensor(y[picked]))
    train = TrainConfig(epochs=args.epochs, batch_size=100, accelerator="cpu", devices="1", progress=False,
                        threads=args.threads)
    config = SSGANConfig(n_classes=len(np.unique(y)))
    seconds: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(args.repeats):
        for name, (precision, overrides, variant) in VARIANTS.items():
            run = replace(train, precision=precision)
            torch.manual_seed(0)
            model = variant(SSGAN(replace(config, **overrides), ds.input_shape, run))
            start = time.perf_counter()
            fit(model, x, run, labeled=labeled)
            seconds[name].append(time.perf_counter() - start)

    per_epoch = {k: statistics.median(v) / args.epochs * 60000 / len(x) for k, v in seconds.items()}
    first = per_epoch[next(iter(VARIANTS))]
    print(f"\nssgan (the paper's MNIST networks), batch 100, {len(x)} {ds.name} images x {args.epochs} epochs, "
          f"{args.threads} threads, median of {args.repeats}\n")
    print("| variant | seconds per 60k-image epoch | speed-up | seconds (each repeat) |\n|---|---|---|---|")
    for k, v in seconds.items():
        print(f"| {k} | {per_epoch[k]:.1f} | {first / per_epoch[k]:.2f}x | {', '.join(f'{t:.1f}' for t in v)} |")
    save(args.out, {"data": ds.name, "n": len(x), "epochs": args.epochs, "threads": args.threads,
                    "seconds": seconds, "seconds_per_60k_epoch": per_epoch})


if __name__ == "__main__":
    main()
