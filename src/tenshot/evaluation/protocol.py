"""The label-efficiency protocol: accuracy vs. labels per class, for several sources.

For every split seed ``s`` and labels-per-class ``n`` the labeled subset is
``few_label_indices(y_train, n, seed=s)`` -- the *same* indices for every source, so
sources are compared on identical labels. Each source predicts the test split from
that subset alone; only then are test labels read, once, by ``accuracy_score``.

No peeking, by construction:

* ``source.prepare`` gets the dataset with ``y_train`` and ``y_test`` removed;
* ``source.predict`` gets the labeled indices and their labels, nothing else;
* hyperparameters (C, k, epochs) are chosen inside the source on the labeled subset.

Output records follow the ``tenshot probe`` JSON contract (docs: design.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from sklearn.metrics import accuracy_score

from tenshot.data.dataset import Dataset
from tenshot.data.splits import few_label_indices
from tenshot.errors import ConfigError, DataError
from tenshot.evaluation.probes import check_probe
from tenshot.evaluation.sources import Source, fixed_probes

LabelsPerClass = int | str | None  # an int >= 1, or "all" / None for every label
DEFAULT_LABELS_PER_CLASS: tuple[LabelsPerClass, ...] = (1, 5, 10, 100, None)


def _numpy(t: torch.Tensor | np.ndarray) -> np.ndarray:
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


def _parse_lpc(value: LabelsPerClass) -> int | None:
    """1, 10, "10" -> int; None / "all" -> None (every label)."""
    if value is None or (isinstance(value, str) and value.strip().lower() == "all"):
        return None
    try:
        n = int(value)
    except (TypeError, ValueError):
        n = 0
    if n < 1 or (isinstance(value, float) and value != n):
        raise ConfigError(f"labels per class must be an int >= 1 or 'all', got {value!r}")
    return n


def _seeds(seeds: int | Sequence[int]) -> list[int]:
    if isinstance(seeds, int):
        if seeds < 1:
            raise ConfigError(f"seeds={seeds}: give the number of splits to average over (>= 1)")
        return list(range(seeds))
    out = [int(s) for s in seeds]
    if not out:
        raise ConfigError("seeds is empty: give a count (e.g. 3) or a list of split seeds")
    return out


def _check_labeled(ds: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """(y_train (N,), y_test (n_test,)) as int arrays, or a DataError saying what is missing."""
    if ds.y_train is None:
        raise DataError(
            f"dataset {ds.name!r} has no train labels; label efficiency needs labeled data "
            "(an npz with `y`, class subfolders for folder:, or a built-in dataset)"
        )
    if ds.x_test is None or ds.y_test is None:
        raise DataError(
            f"dataset {ds.name!r} has no labeled test split to score on; provide one "
            "(npz `x_test`/`y_test`, IDX t10k files) or load data that has labels to split"
        )
    y_train, y_test = _numpy(ds.y_train), _numpy(ds.y_test)
    if len(y_test) != len(ds.x_test):
        raise DataError(f"dataset {ds.name!r}: {len(ds.x_test)} test images but {len(y_test)} test labels")
    return y_train, y_test


def label_efficiency(
    ds: Dataset,
    sources: Source | Iterable[Source],
    labels_per_class: Iterable[LabelsPerClass] = DEFAULT_LABELS_PER_CLASS,
    probes: Sequence[str] = ("linear",),
    seeds: int | Sequence[int] = 3,
    log: Callable[[str], Any] | None = None,
) -> list[dict[str, Any]]:
    """Test accuracy of every (source, labels per class, probe), averaged over split seeds.

    Args:
        ds: a dataset with train labels and a labeled test split.
        sources: one ``Source`` or several (``pixels_source()``, ``pca_source()``, ...).
        labels_per_class: ints >= 1, and ``None`` / ``"all"`` for every train label.
        probes: probe names from ``PROBES``; sources with a ``probes`` attribute
            (trained sources) are evaluated under their own names instead.
        seeds: a count K (seeds 0..K-1) or explicit split seeds.
        log: e.g. ``print``; called with one line per finished record.

    Returns:
        One record per (source, labels per class, probe)::

            {"source": "pca", "labels_per_class": 10 or "all", "probe": "linear",
             "accuracy_mean": 0.81, "accuracy_std": 0.02, "accuracies": [...],
             "selection": [{"C": 0.1, ...} per seed], "seconds": 1.3}

        ``accuracy_std`` is the population std over seeds (0 for one seed).

    Raises:
        DataError: no labels / no test split, or a class has fewer train labels than
            asked (``few_label_indices`` says which).
        ConfigError: unknown probe, bad labels per class or seeds.
    """
    y_train, y_test = _check_labeled(ds)
    sources = [sources] if isinstance(sources, Source) else list(sources)
    if not sources:
        raise ConfigError("no sources to evaluate: pass e.g. [pixels_source(), pca_source()]")
    probes = [check_probe(p) for p in probes]  # fail before any expensive prepare()
    lpcs = [_parse_lpc(v) for v in labels_per_class]
    seed_list = _seeds(seeds)

    # Every split up front: a too-large labels-per-class fails now, not an hour in, and
    # every source is handed the very same labeled indices for a given (n, seed).
    splits = {(n, s): np.asarray(few_label_indices(y_train, n, seed=s)) for n in lpcs for s in seed_list}

    # Sources see images only; labels come to them through predict(), test labels never.
    unlabeled = replace(ds, y_train=None, y_test=None)

    records: list[dict[str, Any]] = []
    for source in sources:
        source.prepare(unlabeled)
        probe_names = fixed_probes(source) or probes
        for n in lpcs:
            for probe in probe_names:
                start = time.perf_counter()
                accs: list[float] = []
                selections: list[dict[str, Any]] = []
                for s in seed_list:
                    idx = splits[(n, s)]
                    y_pred, selection = source.predict(idx, y_train[idx].copy(), probe, s)
                    y_pred = np.asarray(y_pred)
                    if y_pred.shape != y_test.shape:
                        raise DataError(
                            f"source {source.name!r} returned {y_pred.shape[0] if y_pred.ndim else 0} "
                            f"predictions for {len(y_test)} test images; predict must return one label per test image"
                        )
                    accs.append(float(accuracy_score(y_test, y_pred)))  # the one use of test labels
                    selections.append(dict(selection))
                record = {
                    "source": source.name,
                    "labels_per_class": "all" if n is None else n,
                    "probe": probe,
                    "accuracy_mean": float(np.mean(accs)),
                    "accuracy_std": float(np.std(accs)),
                    "accuracies": accs,
                    "selection": selections,
                    "seconds": round(time.perf_counter() - start, 3),
                }
                records.append(record)
                if log is not None:
                    log(
                        f"{source.name:>12} {record['labels_per_class']!s:>5}/class {probe:<6} "
                        f"acc {record['accuracy_mean']:.4f} ± {record['accuracy_std']:.4f} "
                        f"({len(accs)} seeds, {record['seconds']:.1f}s)"
                    )
    return records


def probe_report(source_name: str, data_name: str, results: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The ``tenshot probe`` JSON: ``{"source": .., "data": .., "results": [...]}``.

    Keeps the records of ``source_name`` (records without a "source" key are kept too),
    dropping the redundant per-record "source" field.
    """
    kept = [
        {k: v for k, v in r.items() if k != "source"}
        for r in results
        if r.get("source", source_name) == source_name
    ]
    return {"source": source_name, "data": data_name, "results": kept}
