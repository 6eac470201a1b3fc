"""The label-efficiency protocol: records per the contract, identical splits for every
source, and no peeking at test labels before scoring."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from tenshot.errors import ConfigError, DataError
from tenshot.evaluation import FeatureSource, label_efficiency, pca_source, pixels_source, plot_label_efficiency, probe_report
from tenshot.evaluation.supervised import SupervisedSource
from tenshot.methods.autoencoder import AutoencoderConfig


class Recorder:
    """A source that records what it is given (and predicts the majority label)."""

    name = "recorder"

    def prepare(self, ds):
        self.prepared = ds

    def predict(self, train_idx, y_labeled, probe, seed):
        self.calls = getattr(self, "calls", []) + [(np.array(train_idx), np.array(y_labeled), probe, seed)]
        return np.full(len(self.prepared.x_test), np.bincount(y_labeled).argmax()), {"chosen": 1}


def test_records_follow_the_contract(digits_ds):
    res = label_efficiency(digits_ds, [pixels_source(), pca_source()], [1, 5, 20], probes=("linear", "knn"), seeds=2)
    assert len(res) == 2 * 3 * 2
    r = next(r for r in res if r["source"] == "pixels" and r["labels_per_class"] == 5 and r["probe"] == "linear")
    assert set(r) >= {"labels_per_class", "probe", "accuracy_mean", "accuracy_std", "accuracies", "selection"}
    assert len(r["accuracies"]) == 2 and r["accuracy_mean"] == pytest.approx(np.mean(r["accuracies"]))
    assert r["accuracy_mean"] > 0.6  # 5 digits per class are plenty for a linear probe
    assert {"C", "cv_accuracy", "selection"} <= set(r["selection"][0])
    assert [x["labels_per_class"] for x in res[:6:2]] == [1, 5, 20]
    report = probe_report("pixels", "digits", res)
    assert report["source"] == "pixels" and len(report["results"]) == 6 and "source" not in report["results"][0]


def test_no_peeking_sources_never_see_test_labels(digits_ds):
    rec = Recorder()
    label_efficiency(digits_ds, rec, [3], seeds=[7])
    assert rec.prepared.y_test is None and rec.prepared.y_train is None
    idx, y, probe, seed = rec.calls[0]
    assert np.array_equal(y, digits_ds.y_train.numpy()[idx]) and seed == 7 and len(idx) == 30


def test_no_peeking_permuted_test_labels_change_nothing_but_the_score(digits_ds):
    """Selections and predictions are made before test labels are read: permuting the
    test labels leaves every chosen hyperparameter unchanged."""
    perm = torch.from_numpy(np.random.default_rng(0).permutation(len(digits_ds.y_test)))
    shuffled = replace(digits_ds, y_test=digits_ds.y_test[perm])
    kw = dict(labels_per_class=[5], probes=("linear", "knn", "svm"), seeds=2)
    a = label_efficiency(digits_ds, pixels_source(), **kw)
    b = label_efficiency(shuffled, pixels_source(), **kw)
    assert [r["selection"] for r in a] == [r["selection"] for r in b]
    assert all(r["accuracy_mean"] < 0.3 for r in b) and all(r["accuracy_mean"] > 0.7 for r in a)


def test_every_source_gets_the_same_labeled_indices(digits_ds):
    r1, r2 = Recorder(), Recorder()
    r2.name = "other"
    label_efficiency(digits_ds, [r1, r2], [2, 4], seeds=3)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(r1.calls, r2.calls))


def test_errors(digits_ds):
    with pytest.raises(DataError, match="use --labels-per-class"):
        label_efficiency(digits_ds, pixels_source(), [1000])
    with pytest.raises(ConfigError, match="unknown probe"):
        label_efficiency(digits_ds, pixels_source(), [1], probes=("forest",))
    with pytest.raises(DataError, match="no train labels"):
        label_efficiency(replace(digits_ds, y_train=None), pixels_source(), [1])
    bad = FeatureSource("nan", lambda x: np.full((len(x), 3), np.nan))
    with pytest.raises(DataError, match="NaN/inf features"):
        label_efficiency(digits_ds, bad, [1])


def test_pca_beats_chance_and_is_not_whitened(digits_ds):
    src = pca_source(20)
    [r] = label_efficiency(digits_ds, src, [5], seeds=1)
    spread = src.train_features.std(0)
    assert spread[0] > 2 * spread[-1]  # leading axes keep their larger variance
    assert r["accuracy_mean"] > 0.7


def test_supervised_baseline_trains_on_labels_only(digits_ds):
    src = SupervisedSource(encoder=AutoencoderConfig(encoder="mlp", hidden=(64,), latent_dim=32), max_epochs=150)
    [r] = label_efficiency(digits_ds, src, [10], seeds=1)
    assert r["probe"] == "net" and 1 <= r["selection"][0]["epochs"] <= 150
    assert r["accuracy_mean"] > 0.6


def test_plot_writes_png(tmp_path, digits_ds):
    res = label_efficiency(digits_ds, [pixels_source()], [1, "all"], probes=("knn",), seeds=1)
    assert res[-1]["labels_per_class"] == "all" and res[-1]["accuracy_mean"] > 0.9
    out = plot_label_efficiency(res, tmp_path / "curve.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ConfigError):
        plot_label_efficiency([], tmp_path / "x.png")
