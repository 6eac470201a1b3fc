"""End-to-end jobs behind the CLI verbs, usable from Python as they are."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import torch

from tenshot import io
from tenshot.api import Pretrainer
from tenshot.config import TrainConfig
from tenshot.data import Dataset, load_dataset
from tenshot.data.splits import parse_labels_per_class
from tenshot.errors import CheckpointError, ConfigError, DataError

BASELINES = ("pixels", "pca", "supervised")
# Engine settings that may change when a run is resumed; the rest is fixed by the run.
RESUMABLE = {"epochs", "accelerator", "devices", "strategy", "precision", "progress", "threads", "num_workers", "checkpoint_every", "reuse_heap"}


def pretrain(
    method: str,
    data: str | Dataset,
    out: Path,
    *,
    data_dir: str | None = None,
    resume: bool = False,
    force: bool = False,
    train: dict[str, Any] | None = None,
    method_options: dict[str, Any] | None = None,
) -> Path:
    """Pretrain ``method`` on the training images of ``data`` (labels unused) into run folder ``out``."""
    train, method_options = dict(train or {}), dict(method_options or {})
    out = Path(out)
    if resume:
        saved = io.read_run_config(out)
        if saved["method"] != method:
            raise CheckpointError(f"{out} was saved by method {saved['method']!r}, not {method!r}; resume it as {saved['method']!r}")
        changed = _changed(train, saved["train"], skip=RESUMABLE) | _changed(method_options, saved["method_config"])
        if changed:
            raise ConfigError(
                f"{', '.join(sorted(changed))} cannot change when resuming (the run has "
                f"{', '.join(f'{k}={v!r}' for k, v in sorted(changed.items()))}); drop them or start a new run with --force"
            )
        rep = Pretrainer.from_config(saved).set_params(**train)
    else:
        rep = Pretrainer(method, **train, **method_options)
    rep.check()  # validate every option before loading data
    ds = load_dataset(data, data_dir) if isinstance(data, str) else data
    rep.check(ds.input_shape, len(ds.x_train))  # ... and that the method takes these images, before touching the output folder
    data_name = data if isinstance(data, str) else ds.name
    with io.output_run(out, resume=resume, force=force) as run_dir:
        rep.input_shape_ = ds.input_shape
        io.write_json(run_dir / io.CONFIG, {**rep.run_config(data_name), "status": "running"})
        del rep.input_shape_
        rep.fit(ds.x_train, run_dir=run_dir, resume=resume)
        held_out = rep.model_.test_metrics(ds.x_test) if ds.x_test is not None else {}
        rep.save(run_dir, data=data_name, metrics=held_out)
    return out


def _changed(given: dict[str, Any], saved: dict[str, Any], skip: Iterable[str] = ()) -> dict[str, Any]:
    """The options in ``given`` whose value differs from the saved run's, with the saved value.

    Repeating a run's own value is no change (a resume command may be its first command
    with --resume added); values compare as JSON has them, so a tuple equals its list."""
    return {k: saved.get(k) for k, v in given.items() if k not in skip and _as_json(v) != _as_json(saved.get(k))}


def _as_json(value: Any) -> Any:
    return json.loads(json.dumps(value))


def make_source(source: str, data_dir: str | None = None):
    """A run folder -> its frozen features; 'pixels' / 'pca' / 'supervised' -> a baseline."""
    from tenshot.evaluation import FeatureSource, pca_source, pixels_source
    from tenshot.evaluation.supervised import SupervisedSource

    if source == "pixels":
        return pixels_source()
    if source == "pca":
        return pca_source()
    if source == "supervised":
        return SupervisedSource()
    path = Path(source)
    if not path.exists():
        raise CheckpointError(f"no such run folder: {source}; pass a run folder or a baseline ({', '.join(BASELINES)})")
    rep = Pretrainer.load(path)
    return FeatureSource(path.name or str(path), rep.transform)


def _labels(labels_per_class: str | Iterable[int | None]) -> list[int | None]:
    return parse_labels_per_class(labels_per_class) if isinstance(labels_per_class, str) else list(labels_per_class)


def _probes(probes: str | Iterable[str]) -> tuple[str, ...]:
    from tenshot.evaluation.probes import check_probe

    names = tuple(p.strip() for p in probes.split(",")) if isinstance(probes, str) else tuple(probes)
    return tuple(check_probe(p) for p in names)


def probe(
    source: str,
    data: str | Dataset,
    *,
    data_dir: str | None = None,
    labels_per_class: str | Iterable[int | None] = "1,5,10,100,all",
    probes: str | Iterable[str] = "linear",
    seeds: int = 3,
    out: Path | None = None,
) -> tuple[Path, str]:
    """Run the label-efficiency protocol on one source; write the contract JSON and a plot."""
    from tenshot.evaluation import label_efficiency, plot_label_efficiency, probe_report

    lpc, probe_names = _labels(labels_per_class), _probes(probes)
    if seeds < 1:
        raise ConfigError(f"--seeds must be at least 1, got {seeds}")
    src = make_source(source, data_dir)
    ds = load_dataset(data, data_dir) if isinstance(data, str) else data
    data_name = data if isinstance(data, str) else ds.name
    if out is None:
        out = Path(source) / "probe.json" if Path(source).is_dir() else Path(f"probe-{source}.json")
    results = label_efficiency(ds, [src], labels_per_class=lpc, probes=probe_names, seeds=seeds)
    io.write_json(out, probe_report(src.name, data_name, results))
    plot_label_efficiency(results, out.with_suffix(".png"))
    return out, results_table(results)


def results_table(results: list[dict[str, Any]]) -> str:
    """A Markdown table: one row per (source, probe), one column per labels-per-class."""
    columns = list(dict.fromkeys(r["labels_per_class"] for r in results))
    rows: dict[tuple[str, str], dict[Any, str]] = {}
    for r in results:
        cell = f"{100 * r['accuracy_mean']:.1f} ± {100 * r['accuracy_std']:.1f}"
        rows.setdefault((r["source"], r["probe"]), {})[r["labels_per_class"]] = cell
    head = "| source | probe | " + " | ".join(f"{c}/class" for c in columns) + " |"
    rule = "|" + "---|" * (len(columns) + 2)
    lines = [head, rule]
    for (source, probe_name), cells in rows.items():
        lines.append(f"| {source} | {probe_name} | " + " | ".join(cells.get(c, "-") for c in columns) + " |")
    return "\n".join(lines)


def demo(
    out: Path = Path("runs/demo"),
    *,
    data: str | None = None,
    data_dir: str | None = None,
    quick: bool = False,
    force: bool = False,
    seed: int = 0,
    log=print,
) -> dict[str, Any]:
    """The main job: pretrain the default method on unlabeled images, then compare it with
    pixels, PCA and a supervised net at a few labels per class. Writes ``out`` with the
    run, ``label_efficiency.json`` and ``label_efficiency.png``."""
    from tenshot.evaluation import FeatureSource, label_efficiency, pca_source, pixels_source, plot_label_efficiency
    from tenshot.evaluation.supervised import SupervisedSource
    from tenshot.registry import DEFAULT_METHOD

    out = Path(out)
    if data is None:
        try:
            ds = load_dataset("fashion-mnist", data_dir, download=False)
            data = "fashion-mnist"
        except DataError as exc:
            log(f"Fashion-MNIST is not installed ({exc}); running the demo on scikit-learn's digits instead.")
            data, ds = "digits", load_dataset("digits")
    else:
        ds = load_dataset(data, data_dir)
    if not ds.labeled or ds.x_test is None:
        raise DataError(f"the demo needs labeled data with a test split; {data} has none")
    big = ds.input_shape[1] >= 16
    # Sized to finish in minutes on a 2-core CPU; `tenshot pretrain` + `tenshot probe` go further.
    train = {"epochs": 1 if quick else 5, "seed": seed, "max_train": (2000 if quick else 20000) if big else None, "threads": None}
    lpc: list[int | None] = [1, 10] if quick else [1, 5, 10, 50]
    seeds = 1 if quick else 3
    log(f"1/3 pretraining {DEFAULT_METHOD} on {min(len(ds.x_train), train['max_train'] or 10**9)} unlabeled {data} images ...")
    pretrain(DEFAULT_METHOD, ds, out, force=force, train=train)
    rep = Pretrainer.load(out)
    log(f"2/3 label-efficiency: {lpc} labels per class x {seeds} seeds, linear probe (C by cross-validation) ...")
    sources = [
        FeatureSource(DEFAULT_METHOD, rep.transform),
        pixels_source(),
        pca_source(),
        SupervisedSource(max_epochs=30 if quick else 100),
    ]
    results = label_efficiency(ds, sources, labels_per_class=lpc, probes=("linear",), seeds=seeds)
    io.write_json(out / "label_efficiency.json", {"source": DEFAULT_METHOD, "data": data, "results": results})
    plot_label_efficiency(results, out / "label_efficiency.png")
    io.update_metrics(out, {"label_efficiency": results})
    log("3/3 test accuracy (%), mean ± std over seeds:")
    log(results_table(results))
    log(f"wrote {out}/ (run, label_efficiency.json, label_efficiency.png)")
    return {"data": data, "results": results}


def _generative(run: Path) -> tuple[Pretrainer, dict[str, Any]]:
    """A run's representation, refusing folders that are not runs of a generative method."""
    rep = Pretrainer.load(run)
    rep.model_.sample(1)  # raises ConfigError for a method that cannot sample
    return rep, io.read_run_config(run)


def sample(run: Path, out: Path, *, n: int = 64, nearest: bool = False, data: str | None = None,
           data_dir: str | None = None, seed: int = 0) -> Path:
    """Write a PNG grid of ``n`` samples; with ``nearest``, each beside its nearest
    training image of ``data`` (default: the data the run was trained on)."""
    from tenshot.explore import interleave, nearest_images, save_grid

    if n < 1:
        raise ConfigError(f"--n must be at least 1, got {n}")
    rep, config = _generative(Path(run))
    with torch.no_grad():
        images = rep.model_.sample(n, torch.Generator().manual_seed(seed))
    if nearest:
        spec = data or config.get("data")
        if not spec:
            raise ConfigError("--nearest needs the training data: pass --data")
        ds = load_dataset(spec, data_dir)
        images = interleave(images, nearest_images(images, ds.x_train))
        return save_grid(out, images, ncol=2 * max(1, int(n**0.5)), scale=2)
    return save_grid(out, images, scale=2)


def score(run: Path, data: str | None = None, *, data_dir: str | None = None, n: int = 5000,
          extractor: str = "auto", seed: int = 0) -> dict[str, Any]:
    """FID, KID and IS of the run's samples (with the real-data floor); added to metrics.json."""
    from tenshot.evaluation.generative import generative_scores

    rep, config = _generative(Path(run))
    spec = data or config.get("data")
    if not spec:
        raise ConfigError("pass --data: the run does not record the data it was trained on")
    ds = load_dataset(spec, data_dir)
    scores = generative_scores(rep.model_.sample, ds, n=n, extractor=extractor, seed=seed)  # type: ignore[arg-type]
    io.update_metrics(Path(run), scores)
    return scores


FEATURE_SCALES = ("unit", "feature", "none")
FEATURE_VIEWS = ("none", "flip")
# "feature": no feature's range is taken narrower than this share of its run's range, so a
# near-constant (dead) feature is not blown up into noise the size of a live one.
FEATURE_RANGE_FLOOR = 0.05


def export_features(runs: Path | str | Iterable[Path | str], data: str | Dataset, out: Path, *,
                    data_dir: str | None = None, scale: str = "unit", views: str = "none") -> dict[str, Any]:
    """Write ``out`` (.npz): the runs' features of the train images of ``data`` as ``x``
    (N, D) and of its test images as ``x_test``, with ``y`` / ``y_test`` where the data has
    labels, so that other tools -- or tenshot itself, ``--data npz:OUT`` -- can learn from
    a frozen representation.

    Several runs give their features side by side, in the order given (``feature_dims``
    holds each run's width), for trying whether representations learned by different
    tasks complement each other. Measure before trusting it: on Fashion-MNIST, 10 labels
    per class, rotation + wta-ae features gave an ``lda`` probe +1.7 points over rotation
    alone on a dev split but nothing on the test split, and the ssgan's MLP did worse on
    the pair (``benchmarks/semisup*.json``, ``*rotation_plus_wta_features*``).

    ``scale`` "unit": one range per run, from the 0.1th to the 99.9th percentile of its
    train features, mapped onto [0, 1] and clipped (the test rows with the train range),
    as tenshot's data loader wants; one range per run, not one per feature, so a run's
    features keep their relative sizes, yet a run whose features are large does not
    squash another's into a sliver.
    The ranges are saved as ``scale_range`` (one row per run).

    "feature": each feature's own top, its 99.9th percentile, kept within
    [``FEATURE_RANGE_FLOOR``, 1] of its run's "unit" range (``feature_hi``, one per
    feature; the run's bottom as in "unit"). Deep rotation features are sparse and small
    against their run's range (width 48: the last block's mean 0.06 in "unit"), under the
    ssgan's input noise of 0.3; spread to their own range, the ssgan on them scored +0.6 /
    +1.1 / +1.3 on three dev splits (``ssgan_on_rotation_w48_features_dev_amx_cpu`` in
    ``benchmarks/semisup_dev.json``).
    "none": as they are.

    ``views`` "flip": each row also holds the features of the mirror image (flipped left to
    right), scaled with the ranges of the images as they are: ``x`` is (N, 2, 1, D), a view
    per channel, for the ssgan's ``--views`` (augmentation and test-time averaging in
    feature space); a probe reads the two views side by side. Not for data whose mirror
    image is another class (digits)."""
    if scale not in FEATURE_SCALES:
        raise ConfigError(f"unknown scale {scale!r}: use one of {', '.join(FEATURE_SCALES)}")
    if views not in FEATURE_VIEWS:
        raise ConfigError(f"unknown views {views!r}: use one of {', '.join(FEATURE_VIEWS)}")
    out = Path(out)
    if out.suffix != ".npz":
        raise ConfigError(f"--out must name an .npz file, got {out}")
    runs = [Path(runs)] if isinstance(runs, (str, Path)) else [Path(r) for r in runs]
    if not runs:
        raise ConfigError("name at least one run whose features to write")
    reps = [Pretrainer.load(r) for r in runs]  # all runs checked before any work
    ds = load_dataset(data, data_dir) if isinstance(data, str) else data
    splits = {"x": ds.x_train} if ds.x_test is None else {"x": ds.x_train, "x_test": ds.x_test}
    blocks: dict[str, list[np.ndarray]] = {k: [] for k in splits}
    ranges, tops = [], []
    for rep in reps:
        feats = {k: _views_of(rep, v, views) for k, v in splits.items()}
        if scale != "none":
            plain = feats["x"][:, 0]  # the ranges come from the images as they are
            lo, hi = np.percentile(plain, [0.1, 99.9])
            hi = hi if hi > lo else lo + 1.0  # constant features: all 0 rather than a division by 0
            ranges.append([lo, hi])
            if scale == "feature":
                hi = np.clip(np.percentile(plain, 99.9, axis=0), lo + FEATURE_RANGE_FLOOR * (hi - lo), hi)
                tops.append(hi)
            feats = {k: np.clip((v - lo) / (hi - lo), 0.0, 1.0) for k, v in feats.items()}
        for k, v in feats.items():
            blocks[k].append(v.astype(np.float32, copy=False))
    arrays = {k: np.concatenate(v, axis=2) for k, v in blocks.items()}
    # one view: rows (N, D) as before; several: (N, V, 1, D), a view per channel
    arrays.update({k: v[:, 0] if views == "none" else v[:, :, None] for k, v in arrays.items()})
    arrays["feature_dims"] = np.array([b.shape[2] for b in blocks["x"]], dtype=np.int64)
    if scale != "none":
        arrays["scale_range"] = np.array(ranges, dtype=np.float64)
    if scale == "feature":
        arrays["feature_hi"] = np.concatenate(tops).astype(np.float64)
    if ds.y_train is not None:
        arrays["y"] = ds.y_train.numpy()
    if ds.y_test is not None:
        arrays["y_test"] = ds.y_test.numpy()
    with io.atomic_path(out) as tmp, open(tmp, "wb") as fh:  # a handle: np.savez would add ".npz" to the temp name
        np.savez(fh, **arrays)
    return {"out": out, "shape": arrays["x"].shape, "n_test": len(arrays.get("x_test", [])), "scale": scale,
            "views": views, "feature_dims": arrays["feature_dims"].tolist()}


def _views_of(rep: Pretrainer, x: torch.Tensor, views: str) -> np.ndarray:
    """(N, V, D): the images' features, then, with views "flip", their mirror images'.
    One view is an axis added to the features, not a copy of them (60k x 5376 floats: 1.3 GB)."""
    plain = rep.transform(x)
    return plain[:, None] if views == "none" else np.stack([plain, rep.transform(x.flip(-1))], 1)


def semisup(
    method: str,
    data: str | Dataset,
    out: Path,
    *,
    labels_per_class: int,
    label_seed: int = 0,
    data_dir: str | None = None,
    force: bool = False,
    train: dict[str, Any] | None = None,
    method_options: dict[str, Any] | None = None,
    members: int = 1,
    jobs: int = 1,
) -> dict[str, Any]:
    """Train a semi-supervised method on all train images with ``labels_per_class`` labels
    each (drawn with ``label_seed``), score it once on the test split; writes run ``out``.

    ``members`` > 1: an ensemble (``SemiSupervisedEnsemble``): that many runs on the same
    labeled images with seeds seed, seed + 1, ..., in ``out/member-K``, ``jobs`` at a time
    in separate processes (on a CPU, two one-thread processes side by side get more done
    than one two-thread process); its test accuracy is that of their averaged class
    probabilities, and metrics.json also gives each member's.
    """
    from tenshot.api import SemiSupervisedClassifier
    from tenshot.data import few_label_indices

    if members < 1 or jobs < 1:
        raise ConfigError(f"--members and --jobs must be at least 1, got {members} and {jobs}")
    clf = SemiSupervisedClassifier(method, **(train or {}), **(method_options or {}))
    clf.check()  # validate options before any work
    ds = load_dataset(data, data_dir) if isinstance(data, str) else data
    data_name = data if isinstance(data, str) else ds.name
    _check_semisup_data(ds, data_name)
    idx = few_label_indices(ds.y_train, labels_per_class, seed=label_seed, classes=ds.classes)
    clf.classes_ = np.unique(ds.y_train.numpy()[idx])  # so the config written below already has the head's size
    clf.check(ds.input_shape)  # the method built once: options that do not fit this data fail before any folder is made
    if members > 1:
        del clf.classes_
        return _semisup_ensemble(clf, data, ds, data_name, Path(out), idx, force, members, jobs,
                                 dict(labels_per_class=labels_per_class, label_seed=label_seed, data_dir=data_dir,
                                      method_options=method_options))
    y = np.full(len(ds.x_train), -1)
    y[idx] = ds.y_train.numpy()[idx]
    with io.output_run(Path(out), force=force) as run_dir:
        clf.input_shape_ = ds.input_shape
        io.write_json(run_dir / io.CONFIG, {**clf.run_config(data_name), "status": "running"})
        del clf.classes_, clf.input_shape_
        clf.fit(ds.x_train, y, run_dir=run_dir)
        accuracy = float(clf.score(ds.x_test, ds.y_test.numpy()))  # the one use of test labels
        metrics = {"test_accuracy": accuracy, "labels_per_class": labels_per_class, "label_seed": label_seed,
                   "n_labeled": len(idx), "n_unlabeled": clf.history_["train_samples"]}
        clf.save(run_dir, data=data_name, metrics=metrics)
    return metrics


def _check_semisup_data(ds: Dataset, data_name: str) -> None:
    if ds.y_train is None:
        raise DataError(f"{data_name} has no labels: semi-supervised training needs a few labeled images per class")
    if ds.x_test is None or ds.y_test is None:
        raise DataError(f"{data_name} has no labeled test split to score the classifier on")
    missing = sorted(set(ds.y_test.tolist()) - set(ds.y_train.tolist()))
    if missing:
        names = ", ".join(ds.classes[i] if i < len(ds.classes) else str(i) for i in missing)
        raise DataError(f"the test split has classes absent from the labeled train data ({names}); the class sets must match")


def _semisup_member(kwargs: dict[str, Any]) -> dict[str, Any]:
    """One member of an ensemble, in a worker process (a module-level function: picklable)."""
    return semisup(**kwargs)


def _semisup_ensemble(clf, data: str | Dataset, ds: Dataset, data_name: str, out: Path, idx: np.ndarray,
                      force: bool, members: int, jobs: int, common: dict[str, Any]) -> dict[str, Any]:
    """``semisup`` with ``members`` > 1: ``clf`` (the checked, unfitted classifier) gives
    the members' parameters; each member is a whole ``semisup`` run of its own."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from tenshot import __version__
    from tenshot.api import SemiSupervisedEnsemble

    params = SemiSupervisedEnsemble(clf, n_members=members).member_params()
    names = [f"member-{k}" for k in range(members)]
    config = {"tenshot": __version__, "kind": SemiSupervisedEnsemble.KIND, "method": clf.method, "members": names,
              "seeds": [p["seed"] for p in params], "data": data_name, "labels_per_class": common["labels_per_class"],
              "label_seed": common["label_seed"]}
    with io.output_run(out, force=force) as run_dir:
        io.write_json(run_dir / io.CONFIG, {**config, "status": "running"})
        tasks = []
        for name, p in zip(names, params):
            engine = {k: v for k, v in p.items() if k in TrainConfig.__dataclass_fields__}
            if jobs > 1:
                engine["progress"] = False  # bars of processes side by side would overwrite each other
            tasks.append({**common, "method": clf.method, "data": data, "out": run_dir / name, "train": engine})
        if jobs == 1:
            results = [semisup(**t) for t in tasks]
        else:
            # spawn: a forked child would inherit torch's thread pools and Lightning's state.
            with ProcessPoolExecutor(min(jobs, members), mp_context=multiprocessing.get_context("spawn")) as pool:
                results = list(pool.map(_semisup_member, tasks))
        ens = SemiSupervisedEnsemble.load(run_dir)
        accuracy = float(ens.score(ds.x_test, ds.y_test.numpy()))  # the ensemble's one use of test labels
        metrics = {"test_accuracy": accuracy, "member_test_accuracies": [r["test_accuracy"] for r in results],
                   "labels_per_class": common["labels_per_class"], "label_seed": common["label_seed"],
                   "n_labeled": len(idx), "n_unlabeled": results[0]["n_unlabeled"], "members": members}
        io.write_json(run_dir / io.METRICS, metrics)
        io.write_json(run_dir / io.CONFIG, {**config, "status": "done"})
    return metrics
