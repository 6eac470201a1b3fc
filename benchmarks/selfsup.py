"""Self-supervised methods against pixels, PCA and the best earlier method (the denoising
autoencoder with the recipe of label_efficiency.py).

Each method is pretrained on unlabeled train images (labels unused); its features are then
scored with the label-efficiency protocol (linear, kNN and shrinkage-LDA probes,
hyperparameters chosen by cross-validation on the labeled subset alone, test labels read
once). Next to accuracy the script reports each method's pretraining time and its final
pretext accuracy -- on the last epoch's training batches and, where the method defines
one, on held-out test images -- so one sees that the pretext task was learned. A method
that cannot run on the data (e.g. colorization on gray images) is skipped with its reason.

    python benchmarks/selfsup.py                                  # the issue's table
    python benchmarks/selfsup.py --quick --data digits            # a smoke run, about a minute
    python benchmarks/selfsup.py --methods simclr --epochs 20 --n-unlabeled 60000
    python benchmarks/selfsup.py --methods rotation --baselines '' --labels 10 --set width=64 --epochs 30 --n-unlabeled 60000  # the GPU recipe of selfsup.json

Prints Markdown tables and writes JSON with every record.
"""

from __future__ import annotations

import argparse
import time

from _common import add_output_options, add_set_option, dev_split, fashion_or_digits, out_path, parse_sets, save
from label_efficiency import RECIPES as EARLIER_RECIPES
from tenshot import Pretrainer
from tenshot.data import parse_labels_per_class
from tenshot.errors import ConfigError
from tenshot.evaluation import FeatureSource, label_efficiency, pca_source, pixels_source
from tenshot.registry import METHODS
from tenshot.workflows import results_table

SELFSUP = ("rotation", "context", "colorization", "exemplar", "simclr")
REFERENCE = "denoising-ae"  # the best earlier method (benchmarks/label_efficiency.json)

# Per-method pretraining recipe for a 2-core CPU (a few minutes each); any key is a
# Pretrainer parameter. Full size is one flag away: --epochs, --n-unlabeled.
RECIPES: dict[str, dict] = {
    **{name: dict(epochs=5, max_train=20000) for name in SELFSUP},
    # 1000 surrogate classes: ~100 transformations of each in 5 epochs of 20k images.
    "exemplar": dict(epochs=5, max_train=20000, n_exemplars=1000),
    # Two convs per block: on a dev split (last 10k train images scored) lda 73.9 against
    # 72.6 with one, linear 74.1 against 71.9; three scored 73.3 (README, dev-split notes).
    "rotation": dict(epochs=5, max_train=20000, depth=2),
    REFERENCE: EARLIER_RECIPES[REFERENCE],
}
QUICK = dict(epochs=1, n_unlabeled=2000, seeds=1)


def recipe_for(name: str, args: argparse.Namespace) -> dict:
    recipe = {**RECIPES.get(name, {}), "seed": args.seed, "threads": args.threads}
    recipe |= {k: v for k, v in (("epochs", args.epochs), ("max_train", args.n_unlabeled)) if v is not None}
    recipe |= parse_sets(args.sets)
    if "n_exemplars" in recipe and recipe.get("max_train"):
        # one surrogate class per image at most: fewer unlabeled images, fewer classes
        recipe["n_exemplars"] = min(recipe["n_exemplars"], recipe["max_train"])
    return recipe


def pretrain(name: str, recipe: dict, ds) -> tuple[Pretrainer, dict]:
    """Fit one method; returns it with its record: seconds and final pretext accuracies."""
    start = time.perf_counter()
    rep = Pretrainer(name, **recipe).fit(ds.x_train)
    seconds = round(time.perf_counter() - start, 1)
    final = rep.history_.get("final", {})
    held_out = rep.model_.test_metrics(ds.x_test) if ds.x_test is not None else {}
    record = {"seconds": seconds, "pretext_acc": final.get("pretext_acc"), "test_pretext_acc": held_out.get("test_pretext_acc")}
    return rep, record


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def pretrain_table(records: dict[str, dict]) -> str:
    lines = ["| method | pretraining s | pretext acc, last epoch (%) | pretext acc, held-out (%) |", "|---|---|---|---|"]
    for name, r in records.items():
        lines.append(f"| {name} | {r['seconds']} | {pct(r['pretext_acc'])} | {pct(r['test_pretext_acc'])} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--methods", default=",".join((*SELFSUP, REFERENCE)), help="comma list of registered methods")
    ap.add_argument("--baselines", default="pixels,pca")
    ap.add_argument("--data", default=None, help="default: fashion-mnist (digits when absent)")
    ap.add_argument("--labels", default="10,100,all", help="labels per class, comma list")
    ap.add_argument("--probes", default="linear,knn,lda")
    ap.add_argument("--seeds", type=int, default=None, help="label-split seeds to average over (default 3; --quick: 1)")
    ap.add_argument("--epochs", type=int, default=None, help="override every recipe's epochs")
    ap.add_argument("--n-unlabeled", type=int, default=None, help="override every recipe's number of unlabeled training images")
    ap.add_argument("--seed", type=int, default=0, help="pretraining seed")
    add_set_option(ap)
    ap.add_argument("--threads", type=int, default=None, help="torch threads for pretraining (1 is fastest on a busy machine)")
    ap.add_argument("--quick", action="store_true", help=f"a smoke run: {QUICK} unless given explicitly")
    add_output_options(ap, "selfsup")
    args = ap.parse_args()
    if args.quick:
        for key, value in QUICK.items():
            if getattr(args, key) is None:
                setattr(args, key, value)
    args.seeds = args.seeds or 3

    ds = dev_split(fashion_or_digits(args.data), args.dev)
    lpc = parse_labels_per_class(args.labels)
    names = [n for n in args.methods.split(",") if n]
    unknown = [n for n in names if n not in METHODS]
    if unknown:
        raise SystemExit(f"error: unknown method(s) {', '.join(unknown)}; run `tenshot methods` to list them")

    sources, pretrained, skipped = [], {}, {}
    for name in names:
        recipe = recipe_for(name, args)
        print(f"pretraining {name} {recipe} ...", flush=True)
        try:
            rep, pretrained[name] = pretrain(name, recipe, ds)
        except ConfigError as exc:  # the method cannot run on this data: say why, go on
            skipped[name] = str(exc)
            print(f"  skipped {name}: {exc}", flush=True)
            continue
        print(f"  {pretrained[name]['seconds']} s, pretext accuracy {pct(pretrained[name]['pretext_acc'])}%", flush=True)
        sources.append(FeatureSource(name, rep.transform))
    baselines = {"pixels": pixels_source, "pca": pca_source}
    sources += [baselines[b]() for b in args.baselines.split(",") if b]

    results = label_efficiency(ds, sources, lpc, probes=tuple(args.probes.split(",")), seeds=args.seeds, log=print)
    print(f"\n{ds.name}: test accuracy (%), mean ± std over {args.seeds} seeds; "
          "probe hyperparameters by CV on the labeled subset\n")
    print(results_table(results))
    print(f"\npretraining ({args.threads or 'default'} threads) and the pretext task at its end\n")
    print(pretrain_table(pretrained))
    for name, reason in skipped.items():
        print(f"\nskipped {name}: {reason}")
    for n in lpc:
        at = [r for r in results if r["labels_per_class"] == ("all" if n is None else n) and r["source"] in pretrained]
        if at:
            best = max(at, key=lambda r: r["accuracy_mean"])
            print(f"best representation at {best['labels_per_class']}/class: "
                  f"{best['source']} + {best['probe']} = {100 * best['accuracy_mean']:.1f}%")
    save(out_path(args.out, "selfsup", args.dev), {
        "data": ds.name, "recipes": {n: recipe_for(n, args) for n in pretrained}, "pretrain": pretrained,
        "skipped": skipped, "results": results,
    })


if __name__ == "__main__":
    main()
