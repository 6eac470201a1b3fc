"""`tenshot VERB ...`: thin; every verb parses, calls the Python API, prints.

User errors (tenshot.errors) become one ``error: ...`` line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from tenshot.config import Config, TrainConfig
from tenshot.errors import ConfigError, TenshotError

EXIT_USAGE = 2


class Parser(argparse.ArgumentParser):
    """argparse with the contract's one-line error format."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(EXIT_USAGE, f"error: {message} (see `{self.prog} --help`)\n")


# --- options from config dataclasses -------------------------------------------------------
def _parse_tuple(item: type) -> typing.Callable[[str], tuple]:
    def parse(text: str) -> tuple:
        try:
            return tuple(item(t) for t in text.split(",") if t.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated {item.__name__} values, got {text!r}") from None
    return parse


def add_config_options(parser: argparse.ArgumentParser, config_cls: type[Config], skip: set[str] = frozenset()) -> None:
    """One ``--option`` per dataclass field; only options the user gives are set
    (``SUPPRESS``), so the config's own defaults stay the single source of defaults."""
    types_ = config_cls.field_types()
    for f in dataclasses.fields(config_cls):
        if f.name in skip:
            continue
        tp = types_[f.name]
        if get_origin(tp) in (Union, types.UnionType):
            tp = next(a for a in get_args(tp) if a is not type(None))
        kwargs: dict[str, Any] = {"default": argparse.SUPPRESS, "dest": f.name}
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        help_ = f.metadata.get("help", "")
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        kwargs["help"] = f"{help_} (default: {shown})"
        flag = "--" + f.name.replace("_", "-")
        if tp is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, **kwargs)
            continue
        if get_origin(tp) is Literal or get_origin(tp) in (Union, types.UnionType):
            choices = [c for a in ([tp] if get_origin(tp) is Literal else get_args(tp)) for c in get_args(a)]
            kwargs["choices"] = choices
        elif get_origin(tp) is tuple:
            kwargs["type"] = _parse_tuple(get_args(tp)[0])
            kwargs["metavar"] = "A,B,.."
        else:
            kwargs["type"] = tp
        parser.add_argument(flag, **kwargs)


def picked(args: argparse.Namespace, config_cls: type[Config]) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(config_cls)}
    return {k: v for k, v in vars(args).items() if k in names}


def add_data_options(p: argparse.ArgumentParser, default: str | None = None) -> None:
    """--data (required unless ``default`` says what happens without it) and --data-dir."""
    from tenshot.data import DATA_FORMS

    p.add_argument("--data", required=default is None, default=None, help=DATA_FORMS + (f" (default: {default})" if default else ""))
    p.add_argument("--data-dir", default=None, help="where to look for fashion-mnist/mnist IDX files first")


# --- verbs ------------------------------------------------------------------------------------
def cmd_methods(args: argparse.Namespace) -> int:
    from tenshot.registry import METHODS, summary

    width = max(map(len, METHODS))
    for name in METHODS:
        print(f"{name:<{width}}  {summary(name)}")
    return 0


def cmd_pretrain(args: argparse.Namespace) -> int:
    from tenshot.workflows import pretrain

    _, config_cls = _method_of(args)
    run = pretrain(
        args.method, args.data, Path(args.out), data_dir=args.data_dir, resume=args.resume, force=args.force,
        train=picked(args, TrainConfig), method_options=picked(args, config_cls),
    )
    print(f"wrote {run}: config.json, model.safetensors, metrics.json")
    return 0


def cmd_probe(args: argparse.Namespace) -> int:
    from tenshot.workflows import probe

    out, table = probe(
        args.source, args.data, data_dir=args.data_dir, labels_per_class=args.labels_per_class,
        probes=args.probe, seeds=args.seeds, out=Path(args.out) if args.out else None,
    )
    print(table)
    print(f"wrote {out} and {out.with_suffix('.png')}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from tenshot.workflows import demo

    demo(Path(args.out), data=args.data, data_dir=args.data_dir, quick=args.quick, force=args.force, seed=args.seed)
    return 0


def cmd_semisup(args: argparse.Namespace) -> int:
    from tenshot.workflows import semisup

    _, config_cls = _method_of(args)
    m = semisup(
        args.method, args.data, Path(args.out), labels_per_class=args.labels_per_class, label_seed=args.label_seed,
        data_dir=args.data_dir, force=args.force, train=picked(args, TrainConfig), method_options=picked(args, config_cls),
        members=args.members, jobs=args.jobs,
    )
    if args.members > 1:
        each = ", ".join(f"{100 * a:.2f}%" for a in m["member_test_accuracies"])
        print(f"members' test accuracies {each}; their averaged probabilities:")
    print(f"test accuracy {100 * m['test_accuracy']:.2f}% with {m['labels_per_class']} labels per class "
          f"({m['n_labeled']} labeled, {m['n_unlabeled']} unlabeled images)")
    files = ", ".join(f"member-{k}/" for k in range(args.members)) if args.members > 1 else "model.safetensors"
    print(f"wrote {args.out}: config.json, {files}, metrics.json")
    return 0


def cmd_features(args: argparse.Namespace) -> int:
    from tenshot.workflows import export_features

    r = export_features(args.run, args.data, Path(args.out), data_dir=args.data_dir, scale=args.scale,
                        views=args.views)
    n, d = r["shape"][0], r["shape"][-1]
    parts = f" ({' + '.join(map(str, r['feature_dims']))})" if len(r["feature_dims"]) > 1 else ""
    views = f", {r['shape'][1]} views each" if r["views"] != "none" else ""
    print(f"wrote {r['out']}: {n} train and {r['n_test']} test rows of {d} features{parts}{views} "
          f"(scale: {r['scale']})")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from tenshot.workflows import sample

    out = sample(Path(args.run), Path(args.out), n=args.n, nearest=args.nearest, data=args.data,
                 data_dir=args.data_dir, seed=args.seed)
    print(f"wrote {out}")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from tenshot.workflows import score

    s = score(Path(args.run), args.data, data_dir=args.data_dir, n=args.n, extractor=args.extractor, seed=args.seed)
    floor = s["real_floor"]
    print(f"extractor: {s['extractor']['name']}" + (f" (test accuracy {s['extractor']['test_accuracy']:.3f})" if "test_accuracy" in s["extractor"] else ""))
    print(f"| metric | model | real floor |\n|---|---|---|")
    for key in ("fid", "kid", "inception_score"):
        print(f"| {key} | {s[key]:.4f} | {floor[key]:.4f} |")
    print(f"added to {Path(args.run) / 'metrics.json'} (n = {s['n']})")
    return 0


def _method_of(args: argparse.Namespace):
    from tenshot.registry import get_method

    return get_method(args.method)


def add_method_options(p: argparse.ArgumentParser, argv: list[str], verb: str) -> None:
    """Method options depend on METHOD: add those of the method named on the command line."""
    from tenshot.registry import METHODS

    method = argv[1] if len(argv) > 1 and argv[0] == verb and not argv[1].startswith("-") else None
    if method in METHODS:
        # n_classes comes from the labels; an option for it would only invite a mismatch.
        add_config_options(p.add_argument_group(f"{method} options"), METHODS[method][1], skip={"n_classes"})


def add_run_options(p: argparse.ArgumentParser, argv: list[str], verb: str, resume: bool = False) -> None:
    """The options of a verb that trains into a run folder: --out, [--resume,] --force,
    the engine's (TrainConfig) and the named method's."""
    p.add_argument("--out", required=True, help="run folder to write")
    if resume:
        p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--force", action="store_true", help="replace the run in --out (only once the new one succeeds)")
    add_config_options(p, TrainConfig)
    add_method_options(p, argv, verb)


def build_parser(argv: list[str]) -> Parser:
    from tenshot.registry import METHODS, DEFAULT_METHOD
    from tenshot.workflows import FEATURE_SCALES, FEATURE_VIEWS

    parser = Parser(prog="tenshot", description="Learn a representation from unlabeled data, then the task from a few labels.")
    verbs = parser.add_subparsers(dest="verb", required=True, parser_class=Parser, metavar="VERB")

    p = verbs.add_parser("methods", help="list the methods")
    p.set_defaults(func=cmd_methods)

    p = verbs.add_parser("pretrain", help="learn a representation from unlabeled data (labels are never read)",
                         description="Pretrain METHOD on the training images of --data; writes a run folder.")
    p.add_argument("method", metavar="METHOD", help=f"one of: {', '.join(METHODS)}")
    add_data_options(p)
    add_run_options(p, argv, "pretrain", resume=True)
    p.set_defaults(func=cmd_pretrain)

    semi = [name for name, (cls, _) in METHODS.items() if getattr(cls, "needs_labels", False)]
    p = verbs.add_parser("semisup", help="semi-supervised training from a few labels and all unlabeled images",
                         description=f"Train METHOD ({', '.join(semi)}) on every train image, of which --labels-per-class "
                         "per class are labeled; score the classifier once on the test split.")
    p.add_argument("method", metavar="METHOD", help="a semi-supervised method: " + ", ".join(semi))
    add_data_options(p)
    p.add_argument("--labels-per-class", type=int, required=True, help="labeled images per class, e.g. 10")
    p.add_argument("--label-seed", type=int, default=0, help="which labeled images are drawn (default: 0)")
    p.add_argument("--members", type=int, default=1,
                   help="train an ensemble of N runs on the same labels (seeds S, S+1, ...) and average their "
                        "class probabilities, as in Salimans et al. 2016 (default: 1, a single run)")
    p.add_argument("--jobs", type=int, default=1,
                   help="members trained at a time, each in its own process with --threads threads (default: 1)")
    add_run_options(p, argv, "semisup")
    p.set_defaults(func=cmd_semisup)

    p = verbs.add_parser("probe", help="few-label evaluation of a representation or a baseline",
                         description="Label-efficiency protocol: for each labels-per-class and seed, fit the probe "
                         "(hyperparameters by cross-validation on the labeled subset only) and score it once on the test set.")
    p.add_argument("source", metavar="SOURCE", help="a run folder, or a baseline: pixels, pca, supervised")
    add_data_options(p)
    p.add_argument("--labels-per-class", default="1,5,10,100,all", help="comma list of counts and/or 'all' (default: 1,5,10,100,all)")
    p.add_argument("--probe", default="linear", help="linear, knn, svm, lda, self-train (lda + pseudo-labels on the unlabeled train images), or a comma list (default: linear)")
    p.add_argument("--seeds", type=int, default=3, help="labeled subsets drawn per count (default: 3)")
    p.add_argument("--out", default=None, help="JSON file to write (default: RUN/probe.json, or probe-SOURCE.json)")
    p.set_defaults(func=cmd_probe)

    p = verbs.add_parser("features", help="write runs' features of a dataset to an .npz file",
                         description="Transform the train (and test) images of --data with the frozen representation of "
                         "one run, or of several side by side, and write them, with their labels, as an .npz (x, y, x_test, "
                         "y_test): data for other tools, or for tenshot itself (--data npz:FILE), e.g. `tenshot semisup "
                         "ssgan` on a pretrained representation.")
    p.add_argument("run", metavar="RUN", nargs="+",
                   help="run folder (pretrain or semisup); several: their features concatenated, in this order")
    add_data_options(p)
    p.add_argument("--out", required=True, help=".npz file to write")
    p.add_argument("--scale", choices=FEATURE_SCALES, default="unit",
                   help="unit: one range for all of a run's features (0.1th to 99.9th percentile of its train rows) mapped "
                   "onto [0, 1], as tenshot's --data npz: wants; feature: each feature from that bottom to its own 99.9th "
                   "percentile, at least 5%% of the run's range (for the ssgan on sparse deep features); none: as they are "
                   "(default: unit)")
    p.add_argument("--views", choices=FEATURE_VIEWS, default="none",
                   help="flip: each row also holds its mirror image's features, scaled alike, as a second view "
                   "(rows shaped (2, 1, D)) for `tenshot semisup ssgan --views` (default: none)")
    p.set_defaults(func=cmd_features)

    p = verbs.add_parser("sample", help="a grid of images generated by a run",
                         description="Sample a generative run (RBM: Gibbs chains) into a PNG grid.")
    p.add_argument("run", metavar="RUN", help="run folder of a generative method")
    p.add_argument("--n", type=int, default=64, help="number of samples (default: 64)")
    p.add_argument("--out", required=True, help="PNG file to write")
    p.add_argument("--nearest", action="store_true", help="put each sample beside its nearest training image (memorisation check)")
    add_data_options(p, default="the data the run was trained on")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_sample)

    p = verbs.add_parser("score", help="FID, KID and Inception Score of a generative run",
                         description="Score generated images against real test images, next to the real-data floor "
                         "(two disjoint real sets). Adds fid, kid, inception_score to RUN/metrics.json.")
    p.add_argument("run", metavar="RUN", help="run folder of a generative method")
    add_data_options(p, default="the data the run was trained on")
    p.add_argument("--n", type=int, default=5000, help="images per set (default: 5000; compare FIDs at equal n)")
    p.add_argument("--extractor", choices=["auto", "domain", "inception"], default="auto",
                   help="features: a classifier trained on the data's labels (domain), or Inception when its weights are local")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_score)

    p = verbs.add_parser("demo", help="the main job end to end with a summary table",
                         description=f"Pretrain {DEFAULT_METHOD} on Fashion-MNIST (digits if it is not installed), then "
                         "compare it with pixels, PCA and a supervised net at 1-50 labels per class.")
    add_data_options(p, default="fashion-mnist, or digits when it is not installed")
    p.add_argument("--out", default="runs/demo", help="run folder (default: runs/demo)")
    p.add_argument("--quick", action="store_true", help="a much smaller run (a smoke test)")
    p.add_argument("--force", action="store_true", help="replace an existing demo run")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) > 1 and argv[0] in ("pretrain", "semisup") and not argv[1].startswith("-"):
        from tenshot.registry import METHODS

        if argv[1] not in METHODS:
            print(f"error: unknown method {argv[1]!r}; run `tenshot methods` to list them", file=sys.stderr)
            return EXIT_USAGE
    try:
        args = build_parser(argv).parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        return int(args.func(args) or 0)
    except TenshotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted; a run in progress can be continued with --resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
