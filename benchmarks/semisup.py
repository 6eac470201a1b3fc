"""Semi-supervised learning with few labels: ssgan and ssae against the supervised-only
net on the same labels and the best probe of the earlier benchmarks.

All of them are sources of one label-efficiency protocol run (the semi-supervised ones
through ``tenshot.evaluation.semisup.SemiSupervisedSource``): for each labels-per-class
count and split seed every source gets the same labeled indices, and the test labels are
read once per run, to score the final model (EMA discriminator for ssgan). The
semi-supervised methods also see ``--n-unlabeled`` train images in all, without labels
(the labeled ones among them).

    python benchmarks/semisup.py                                  # the issue's table
    python benchmarks/semisup.py --methods ssgan --labels 10 --seeds 1 --epochs 2
    python benchmarks/semisup.py --curve 5000,20000,60000         # accuracy vs unlabeled images
    python benchmarks/semisup.py --methods ssgan --set lr_d=0.001 --set lr_g=0.001  # any parameter

Prints Markdown tables (mean ± std test accuracy, training seconds per run) and writes JSON.
"""

from __future__ import annotations

import argparse

from _common import add_output_options, add_set_option, dev_split, fashion_or_digits, out_path, parse_sets, save
from tenshot import Pretrainer
from tenshot.data import parse_labels_per_class
from tenshot.evaluation import FeatureSource, label_efficiency
from tenshot.evaluation.semisup import SemiSupervisedSource
from tenshot.evaluation.supervised import SupervisedSource
from tenshot.workflows import results_table

# Recipes for a 2-core CPU; any key is a SemiSupervisedClassifier parameter.
# ssgan: the paper's MNIST configuration (batch 100; its Adam settings are the method's defaults).
RECIPES: dict[str, dict] = {
    "ssgan": dict(epochs=10, batch_size=100),
    "ssae": dict(epochs=10, batch_size=100),
    "ssvae": dict(epochs=10, batch_size=100),
}
# The best probe of the earlier benchmarks (label_efficiency.py): denoising AE + linear probe.
BEST_PROBE = ("denoising-ae", dict(epochs=5, max_train=20000), "linear")


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
    add_output_options(ap, "semisup")
    add_set_option(ap)
    args = ap.parse_args()

    sets = parse_sets(args.sets)  # read once: a malformed --set stops the run before any data or training
    ds = dev_split(fashion_or_digits(args.data), args.dev)
    lpc = [n for n in parse_labels_per_class(args.labels) if n is not None]

    def learner(method: str, n_unlabeled: int | None, name: str = "") -> SemiSupervisedSource:
        # --set reaches the semi-supervised learners; the best-probe baseline keeps its recipe
        params = {**RECIPES.get(method, {}), **({"epochs": args.epochs} if args.epochs else {}),
                  "seed": args.seed, "threads": args.threads} | sets
        return SemiSupervisedSource(method, params, n_unlabeled=n_unlabeled, pool_seed=args.seed, name=name)

    sources = [learner(m, args.n_unlabeled) for m in filter(None, args.methods.split(","))]
    baselines = list(filter(None, args.baselines.split(",")))
    if "supervised" in baselines:
        sources.append(SupervisedSource())
    if "best-probe" in baselines:
        name, recipe, _ = BEST_PROBE
        rep = Pretrainer(name, **recipe, seed=args.seed, threads=args.threads).fit(ds.x_train)
        sources.append(FeatureSource(name, rep.transform))
    # One protocol for all: the same labeled indices per (n, seed), test labels read once.
    results = label_efficiency(ds, sources, lpc, probes=(BEST_PROBE[2],), seeds=args.seeds, log=print)

    curve_sources = [learner("ssgan", int(v), f"ssgan ({int(v)} images)") for v in filter(None, args.curve.split(","))]
    curve = label_efficiency(ds, curve_sources, lpc[:1], seeds=[0], log=print) if curve_sources else []

    print(f"\n{ds.name}: test accuracy (%), mean ± std over {args.seeds} label splits\n")
    print(results_table(results))
    print("\nseconds per semi-supervised run: " + ", ".join(
        f"{r['source']} {r['labels_per_class']}/class {sum(s['train_seconds'] for s in r['selection']) / len(r['selection']):.0f}"
        for r in results if r["probe"] == "own"))
    if curve:
        print(f"\nssgan, {lpc[0]} labels per class, split seed 0: accuracy vs images seen (labeled ones included)\n")
        print("| images | test accuracy (%) | seconds |\n|---|---|---|")
        for r in curve:
            sel = r["selection"][0]
            print(f"| {sel['n_images']} | {100 * r['accuracy_mean']:.1f} | {sel['train_seconds']:.0f} |")
    save(out_path(args.out, "semisup", args.dev), {"data": ds.name, "recipes": RECIPES, "epochs": args.epochs, "set": sets,
                                                   "results": results, "unlabeled_curve": curve})


if __name__ == "__main__":
    main()
