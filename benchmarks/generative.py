"""Generative models on Fashion-MNIST: sample quality and representation quality.

For each configuration: pretrain it, then FID / KID (domain-classifier extractor) and
Inception Score of its samples against real test images, beside the real-data floor
and an untrained generator of the same architecture; the 10-labels-per-class probe
accuracy of its features (linear and SVM, C by CV on the labeled subset); training time.

    python benchmarks/generative.py                     # every configuration (long)
    python benchmarks/generative.py --only dcgan,vae --n 2000

Prints a Markdown table and writes JSON.
"""

from __future__ import annotations

import argparse
import time

import torch

from _common import add_output_options, add_set_option, dev_split, fashion_or_digits, out_path, parse_sets, save
from tenshot import Pretrainer
from tenshot.evaluation import FeatureSource, label_efficiency
from tenshot.evaluation.generative import generative_scores
from tenshot.registry import get_method

# label -> (method, Pretrainer parameters). Sized for a 2-core CPU; --epochs/--max-train scale them.
CONFIGS: dict[str, tuple[str, dict]] = {
    "gan": ("gan", dict(epochs=10, max_train=30000)),
    "dcgan": ("dcgan", dict(epochs=5, max_train=30000)),
    "dcgan+feature-matching": ("dcgan", dict(epochs=5, max_train=30000, feature_matching=True)),
    "dcgan+minibatch-disc": ("dcgan", dict(epochs=5, max_train=30000, minibatch_discrimination=True)),
    "dcgan+historical-avg": ("dcgan", dict(epochs=5, max_train=30000, historical_averaging=0.01)),
    "dcgan+label-smoothing": ("dcgan", dict(epochs=5, max_train=30000, label_smoothing=0.9)),
    "dcgan+virtual-bn": ("dcgan", dict(epochs=5, max_train=30000, virtual_batchnorm=True)),
    "dcgan+rotation-loss": ("dcgan", dict(epochs=5, max_train=30000, rotation_loss=1.0)),  # Chen et al. 2019
    "vae": ("vae", dict(epochs=10, max_train=30000)),
    "rbm": ("rbm", dict(epochs=5, max_train=30000)),
}


def untrained(method: str, params: dict, shape) -> torch.nn.Module:
    """The same architecture with its initial weights: the FID a generator starts from."""
    rep = Pretrainer(method, **params)
    method_cls, config, train = rep.configs()
    torch.manual_seed(train.seed)
    return method_cls(config, shape, train).eval()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default=",".join(CONFIGS), help="comma list of configuration labels")
    ap.add_argument("--data", default=None)
    ap.add_argument("--n", type=int, default=5000, help="images per set for FID/KID/IS")
    ap.add_argument("--seeds", type=int, default=3, help="split seeds of the 10-label probe")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--max-train", type=int, default=None)
    add_set_option(ap)
    add_output_options(ap, "generative")
    args = ap.parse_args()

    ds = dev_split(fashion_or_digits(args.data), args.dev)
    rows = []
    for label in args.only.split(","):
        method, params = CONFIGS[label]
        get_method(method)
        params = {**params, **{k: v for k, v in (("epochs", args.epochs), ("max_train", args.max_train)) if v is not None}}
        params |= parse_sets(args.sets)
        print(f"{label}: pretraining {method} {params} ...", flush=True)
        start = time.perf_counter()
        rep = Pretrainer(method, **params).fit(ds.x_train)
        seconds = time.perf_counter() - start
        scores = generative_scores(rep.model_.sample, ds, n=args.n)
        base = generative_scores(untrained(method, params, ds.input_shape).sample, ds, n=args.n)
        probe = label_efficiency(ds, [FeatureSource(label, rep.transform)], [10], probes=("linear", "svm"), seeds=args.seeds)
        best = max(probe, key=lambda r: r["accuracy_mean"])
        rows.append({"config": label, "method": method, "params": params, "train_seconds": round(seconds, 1),
                     "scores": scores, "untrained_fid": base["fid"], "probe": probe,
                     "probe_best": {"probe": best["probe"], "accuracy_mean": best["accuracy_mean"], "accuracy_std": best["accuracy_std"]}})
        print(f"  {seconds:.0f}s  FID {scores['fid']:.2f} (untrained {base['fid']:.2f}, floor {scores['real_floor']['fid']:.2f})"
              f"  10/class {best['probe']} {100 * best['accuracy_mean']:.1f}%", flush=True)

    print(f"\n{ds.name}, n = {args.n}, extractor: domain classifier; probe: 10 labels/class, {args.seeds} seeds\n")
    print("| config | FID | KID | IS | untrained FID | FID floor | IS floor | 10/class probe | train s |\n|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        s, f, b = r["scores"], r["scores"]["real_floor"], r["probe_best"]
        print(f"| {r['config']} | {s['fid']:.2f} | {s['kid']:.4f} | {s['inception_score']:.2f} | {r['untrained_fid']:.2f} | "
              f"{f['fid']:.2f} | {f['inception_score']:.2f} | {100 * b['accuracy_mean']:.1f} ± {100 * b['accuracy_std']:.1f} ({b['probe']}) | {r['train_seconds']:.0f} |")
    save(out_path(args.out, "generative", args.dev), {"data": ds.name, "n": args.n, "rows": rows})


if __name__ == "__main__":
    main()
