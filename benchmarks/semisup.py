"""Semi-supervised learning with few labels: ssgan and ssae against the supervised-only
net on the same labels and the best probe of the earlier benchmarks.

For each labels-per-class count and split seed ``s`` the labeled images are
``few_label_indices(y_train, n, seed=s)`` -- the same ones the label-efficiency protocol
gives the supervised net and the probe. The semi-supervised methods also see
``--n-unlabeled`` train images without labels (the labeled ones among them); test labels
are read once per run, to score the final model (EMA discriminator for ssgan).

    python benchmarks/semisup.py                                  # the issue's table
    python benchmarks/semisup.py --methods ssgan --labels 10 --seeds 1 --epochs 2
    python benchmarks/semisup.py --curve 5000,20000,60000         # accuracy vs unlabeled images

Prints Markdown tables (mean ± std test accuracy, training seconds per run) and writes JSON.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from _common import fashion_or_digits, save
from tenshot import Pretrainer
from tenshot.api import SemiSupervisedClassifier
from tenshot.data import Dataset, few_label_indices, parse_labels_per_class
from tenshot.evaluation import FeatureSource, label_efficiency
from tenshot.evaluation.supervised import SupervisedSource
from tenshot.workflows import results_table

# Recipes for a 2-core CPU; any key is a SemiSupervisedClassifier / Pretrainer parameter.
# ssgan: the paper's MNIST configuration (batch 100, its Adam settings are the method's defaults).
RECIPES: dict[str, dict] = {
    "ssgan": dict(epochs=10, batch_size=100),
    "ssae": dict(epochs=10, batch_size=100),
    "ssvae": dict(epochs=10, batch_size=100),
}
# The best probe of the earlier benchmarks (label_efficiency.py): denoising AE + linear probe.
BEST_PROBE = ("denoising-ae", dict(epochs=5, max_train=20000), "linear")


def labeled_and_pool(ds: Dataset, n_per_class: int, split_seed: int, n_unlabeled: int | None, seed: int):
    """Images and targets (-1 = unlabeled) for one semi-supervised run: the split's labeled
    images plus a seeded sample of the other train images, ``n_unlabeled`` in all."""
    y_all = ds.y_train.numpy()
    idx = few_label_indices(y_all, n_per_class, seed=split_seed, classes=ds.classes)
    rest = np.setdiff1d(np.arange(len(y_all)), idx)
    if n_unlabeled is not None and n_unlabeled < len(y_all):
        if n_unlabeled < len(idx):
            raise SystemExit(f"error: --n-unlabeled {n_unlabeled} is smaller than the {len(idx)} labeled images")
        rest = np.random.default_rng(seed).choice(rest, n_unlabeled - len(idx), replace=False)
    keep = np.sort(np.concatenate([idx, rest]))
    y = np.where(np.isin(keep, idx), y_all[keep], -1)
    return ds.x_train[torch.as_tensor(keep)], y


def run_one(method: str, recipe: dict, ds: Dataset, n: int, split_seed: int, n_unlabeled: int | None,
            seed: int, threads: int | None) -> dict:
    x, y = labeled_and_pool(ds, n, split_seed, n_unlabeled, seed)
    clf = SemiSupervisedClassifier(method, **recipe, seed=seed, threads=threads)
    start = time.perf_counter()
    clf.fit(x, y)
    seconds = time.perf_counter() - start
    accuracy = float(clf.score(ds.x_test, ds.y_test.numpy()))  # the one use of test labels
    record = {"source": method, "probe": "own", "labels_per_class": n, "split_seed": split_seed,
              "n_unlabeled": len(x), "epochs": recipe.get("epochs"), "accuracy": accuracy,
              "train_seconds": round(seconds, 1)}
    print(f"  {method} {n}/class seed {split_seed} on {len(x)} images: {100 * accuracy:.1f}% ({seconds:.0f} s)", flush=True)
    return record


def summarise(records: list[dict], key: str) -> list[dict]:
    """Mean/std over split seeds of the records sharing (source, probe, labels_per_class, key)."""
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault((r["source"], r["probe"], r["labels_per_class"], r[key]), []).append(r)
    out = []
    for (source, probe, n, k), rs in groups.items():
        acc = np.array([r["accuracy"] for r in rs])
        out.append({"source": source, "probe": probe, "labels_per_class": n, key: k, "accuracy_mean": float(acc.mean()),
                    "accuracy_std": float(acc.std()), "seeds": len(rs),
                    "train_seconds_mean": float(np.mean([r["train_seconds"] for r in rs]))})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--methods", default="ssgan,ssae", help="comma list of semi-supervised methods")
    ap.add_argument("--baselines", default="supervised,best-probe", help="supervised, best-probe (denoising-ae + linear)")
    ap.add_argument("--data", default=None, help="default: fashion-mnist (digits when absent)")
    ap.add_argument("--labels", default="10,100", help="labels per class, comma list")
    ap.add_argument("--seeds", type=int, default=3, help="label splits 0..N-1")
    ap.add_argument("--epochs", type=int, default=None, help="override every recipe's epochs")
    ap.add_argument("--n-unlabeled", type=int, default=None, help="train images seen without labels (default: all)")
    ap.add_argument("--curve", default="", help="also: ssgan at the first --labels count, split seed 0, on these "
                    "numbers of unlabeled images, e.g. 5000,20000,60000")
    ap.add_argument("--seed", type=int, default=0, help="training seed")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (1 is fastest on a busy machine)")
    ap.add_argument("--out", default="benchmarks/semisup.json")
    args = ap.parse_args()

    ds = fashion_or_digits(args.data)
    lpc = [n for n in parse_labels_per_class(args.labels) if n is not None]
    override = {"epochs": args.epochs} if args.epochs else {}
    records = []
    for method in filter(None, args.methods.split(",")):
        recipe = {**RECIPES.get(method, {}), **override}
        print(f"{method} {recipe} ...", flush=True)
        for n in lpc:
            for s in range(args.seeds):
                records.append(run_one(method, recipe, ds, n, s, args.n_unlabeled, args.seed, args.threads))

    baselines = list(filter(None, args.baselines.split(",")))
    sources = [SupervisedSource()] if "supervised" in baselines else []
    if "best-probe" in baselines:
        name, recipe, probe = BEST_PROBE
        rep = Pretrainer(name, **recipe, seed=args.seed, threads=args.threads).fit(ds.x_train)
        sources.append(FeatureSource(name, rep.transform))
    baseline_results = label_efficiency(ds, sources, lpc, probes=(BEST_PROBE[2],), seeds=args.seeds, log=print) if sources else []

    curve = []
    for n_unlabeled in (int(v) for v in filter(None, args.curve.split(","))):
        recipe = {**RECIPES["ssgan"], **override}
        curve.append(run_one("ssgan", recipe, ds, lpc[0], 0, n_unlabeled, args.seed, args.threads))

    results = summarise(records, "n_unlabeled") + baseline_results
    print(f"\n{ds.name}: test accuracy (%), mean ± std over {args.seeds} label splits\n")
    print(results_table(results))
    print("\nseconds per semi-supervised run: " + ", ".join(
        f"{r['source']} {r['labels_per_class']}/class {r['train_seconds_mean']:.0f}" for r in results if "train_seconds_mean" in r))
    if curve:
        print(f"\nssgan, {lpc[0]} labels per class, split seed 0: accuracy vs unlabeled images\n")
        print("| unlabeled images | test accuracy (%) | seconds |\n|---|---|---|")
        for r in curve:
            print(f"| {r['n_unlabeled']} | {100 * r['accuracy']:.1f} | {r['train_seconds']:.0f} |")
    save(args.out, {"data": ds.name, "recipes": RECIPES, "records": records, "results": results, "unlabeled_curve": curve})


if __name__ == "__main__":
    main()
