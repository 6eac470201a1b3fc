"""Label efficiency of every autoencoder method against the baselines.

Each method is pretrained on the unlabeled train images (labels unused), then every
source is scored with the label-efficiency protocol: for each labels-per-class count
and split seed, the probe's hyperparameter is chosen by cross-validation on the labeled
subset alone and the test labels are read once, to score it.

    python benchmarks/label_efficiency.py                      # the issue's table (~30 min)
    python benchmarks/label_efficiency.py --methods denoising-ae --labels 10 --seeds 1
    python benchmarks/label_efficiency.py --methods sparse-ae --baselines pixels --labels 10 \
        --probes lda,self-train       # the probe that also pseudo-labels unlabeled images (~15 min)

Prints a Markdown table (mean ± std test accuracy over seeds, pretraining seconds) and
writes JSON with every record.
"""

from __future__ import annotations

import argparse
import time

from _common import add_output_options, add_set_option, dev_split, fashion_or_digits, out_path, parse_sets, save
from tenshot import Pretrainer
from tenshot.data import parse_labels_per_class
from tenshot.evaluation import FeatureSource, label_efficiency, pca_source, pixels_source
from tenshot.evaluation.supervised import SupervisedSource
from tenshot.registry import METHODS
from tenshot.workflows import results_table

AE_METHODS = ("autoencoder", "sparse-ae", "denoising-ae", "stacked-ae", "wta-ae")

# Per-method pretraining recipe for a 2-core CPU (a few minutes each); any key is a
# Pretrainer parameter. Full-size settings are one flag away: --epochs, --max-train.
RECIPES: dict[str, dict] = {
    "autoencoder": dict(epochs=5, max_train=20000),
    "sparse-ae": dict(epochs=5, max_train=20000),
    "denoising-ae": dict(epochs=5, max_train=20000),
    "stacked-ae": dict(epochs=2, max_train=20000),  # 2 epochs per layer x 3 layers + 2 fine-tuning
    "wta-ae": dict(epochs=2, max_train=20000, batch_size=100),  # 512 full-size maps: ~5 min on 1 thread
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--methods", default=",".join(AE_METHODS), help="comma list of registered methods")
    ap.add_argument("--baselines", default="pixels,pca,supervised")
    ap.add_argument("--data", default=None, help="default: fashion-mnist (digits when absent)")
    ap.add_argument("--labels", default="10,100", help="labels per class, comma list")
    ap.add_argument("--probes", default="linear,knn,lda", help="comma list (svm is slow: ~13 min per method at 100/class on 1 thread)")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=None, help="override every recipe's epochs")
    ap.add_argument("--max-train", type=int, default=None, help="override every recipe's training images")
    ap.add_argument("--seed", type=int, default=0, help="pretraining seed")
    add_set_option(ap)
    ap.add_argument("--threads", type=int, default=None, help="torch threads for pretraining (1 is fastest on a busy machine)")
    add_output_options(ap, "label_efficiency")
    args = ap.parse_args()

    ds = dev_split(fashion_or_digits(args.data), args.dev)
    lpc = parse_labels_per_class(args.labels)
    probes = tuple(args.probes.split(","))
    sources, pretrain_seconds = [], {}
    for name in filter(None, args.methods.split(",")):
        if name not in METHODS:
            raise SystemExit(f"error: unknown method {name!r}")
        recipe = {**RECIPES.get(name, {}), "seed": args.seed, "threads": args.threads}
        recipe |= {k: v for k, v in (("epochs", args.epochs), ("max_train", args.max_train)) if v is not None}
        recipe |= parse_sets(args.sets)
        print(f"pretraining {name} {recipe} ...", flush=True)
        start = time.perf_counter()
        rep = Pretrainer(name, **recipe).fit(ds.x_train)
        pretrain_seconds[name] = round(time.perf_counter() - start, 1)
        print(f"  {pretrain_seconds[name]} s", flush=True)
        sources.append(FeatureSource(name, rep.transform))
    baselines = {"pixels": pixels_source, "pca": pca_source, "supervised": SupervisedSource}
    sources += [baselines[b]() for b in filter(None, args.baselines.split(","))]

    results = label_efficiency(ds, sources, lpc, probes=probes, seeds=args.seeds, log=print)
    print(f"\n{ds.name}: test accuracy (%), mean ± std over {args.seeds} seeds; probe hyperparameters by CV on the labeled subset\n")
    print(results_table(results))
    print("\npretraining seconds: " + ", ".join(f"{k} {v}" for k, v in pretrain_seconds.items()))
    at = lambda n: [r for r in results if r["labels_per_class"] == n and r["source"] in pretrain_seconds]  # noqa: E731
    for n in lpc:
        if at(n):
            best = max(at(n), key=lambda r: r["accuracy_mean"])
            print(f"best representation at {n}/class: {best['source']} + {best['probe']} = {100 * best['accuracy_mean']:.1f}%")
    save(out_path(args.out, "label_efficiency", args.dev), {"data": ds.name, "recipes": RECIPES, "pretrain_seconds": pretrain_seconds, "results": results})


if __name__ == "__main__":
    main()
