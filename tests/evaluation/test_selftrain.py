"""The self-train probe: pseudo-labels from the unlabeled pool, rounds chosen on labeled rows only."""

from __future__ import annotations

import numpy as np
import pytest

from tenshot.api import FewShotClassifier
from tenshot.errors import ConfigError, DataError
from tenshot.evaluation import FeatureSource, describe_selection, make_probe
from tenshot.evaluation.selftrain import UNLABELED, SelfTrainingProbe, self_train


def two_clusters(n: int, seed: int, dim: int = 40):
    """Two unit-variance Gaussians 3 apart along feature 0, in ``dim`` dimensions: from 10
    labels per class the class means are off in every noisy dimension; hundreds of
    pseudo-labeled rows pin them down."""
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n)
    x = rng.normal(0, 1, (2 * n, dim))
    x[:, 0] += 3.0 * y
    return x.astype(np.float32), y


def semi(n_labeled: int, n_pool: int, seed: int = 0):
    """(X, y) with ``n_labeled`` labels per class first, then ``n_pool`` rows marked -1."""
    xl, yl = two_clusters(n_labeled, seed)
    xu, _ = two_clusters(n_pool // 2, seed + 100)
    return np.concatenate([xl, xu]), np.concatenate([yl, np.full(len(xu), UNLABELED)])


def test_pseudo_labels_recover_what_few_labels_miss():
    x_test, y_test = two_clusters(2000, seed=999)
    plain, trained = [], []
    for seed in range(5):
        x, y = semi(10, 2000, seed)
        plain.append(SelfTrainingProbe(rounds=0, seed=seed).fit(x, y).score(x_test, y_test))
        trained.append(SelfTrainingProbe(rounds=3, seed=seed).fit(x, y).score(x_test, y_test))
    # Bayes accuracy is Phi(1.5) = 93.3%; the labeled means alone are noisy in 40 dims.
    assert min(trained) > 0.92 > np.mean(plain) + 0.05


def test_each_round_adds_step_rows_per_class(monkeypatch):
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    from tenshot.evaluation import selftrain

    seen: list[int] = []

    class Recording(LinearDiscriminantAnalysis):
        def fit(self, X, y):
            seen.append(len(X))
            return super().fit(X, y)

    monkeypatch.setattr(selftrain, "_base", lambda n: Recording(solver="lsqr", shrinkage="auto"))
    x, y = semi(3, 1000)
    labeled = y != UNLABELED
    models = self_train(x[labeled].astype(float), y[labeled], x[~labeled].astype(float), rounds=2, step=50)
    assert len(models) == 3 and seen == [6, 6 + 2 * 50, 6 + 2 * 100]  # round r: 6 labeled + r * 50 per class
    seen.clear()
    probe = SelfTrainingProbe(rounds=2, step=0.1, seed=0).fit(x, y)  # 10% of 1000 rows over 2 classes
    assert probe.step_ == 50 and describe_selection(probe)["pseudo_labels_per_class"] == 100
    assert seen == [6, 106, 206]


def test_rounds_chosen_by_cv_on_labeled_rows():
    x, y = semi(10, 1000)
    probe = make_probe("self-train", 10, seed=0).fit(x, y)
    sel = describe_selection(probe)
    assert len(sel["cv_accuracy_by_rounds"]) == probe.max_rounds + 1
    assert sel["rounds"] == int(np.argmax(sel["cv_accuracy_by_rounds"]))
    assert sel["cv_accuracy"] == max(sel["cv_accuracy_by_rounds"])
    assert "5-fold" in sel["selection"] and "unlabeled pool" in sel["selection"]
    assert sel["n_unlabeled"] == 1000 and list(probe.classes_) == [0, 1]


def test_one_label_per_class_and_no_pool_use_fixed_choices():
    x, y = semi(1, 400)
    sel = describe_selection(SelfTrainingProbe(seed=0).fit(x, y))
    assert sel["rounds"] == 2 and "fixed default" in sel["selection"] and "cv_accuracy" not in sel
    xl, yl = two_clusters(5, seed=0)
    sel = describe_selection(SelfTrainingProbe(seed=0).fit(xl, yl))
    assert sel["rounds"] == 0 and "no unlabeled rows" in sel["selection"]


def test_pool_is_capped_by_a_seeded_subset():
    x, y = semi(3, 1000)
    p = SelfTrainingProbe(max_unlabeled=300, rounds=1, seed=0).fit(x, y)
    assert p.n_unlabeled_ == 300 and p.predict_proba(x[:4]).shape == (4, 2)


@pytest.mark.parametrize(
    "kwargs,match",
    [({"max_rounds": -1}, "max_rounds"), ({"step": 0.0}, "step"), ({"max_unlabeled": 0}, "max_unlabeled"),
     ({"rounds": -2}, "rounds")],
)
def test_bad_parameters(kwargs, match):
    x, y = semi(3, 50)
    with pytest.raises(ConfigError, match=match):
        SelfTrainingProbe(**kwargs).fit(x, y)


def test_bad_input():
    x, y = semi(3, 50)
    with pytest.raises(DataError, match="fewer than 2 classes"):
        SelfTrainingProbe().fit(x, np.where(y == 1, UNLABELED, y))
    x[0, 0] = np.nan
    with pytest.raises(DataError, match="NaN"):
        SelfTrainingProbe().fit(x, y)
    with pytest.raises(DataError, match="one y per row"):
        SelfTrainingProbe().fit(x[:5], y)


def test_feature_source_pools_the_other_train_images(digits_ds):
    from dataclasses import replace

    src = FeatureSource("pixels", lambda t: t.reshape(len(t), -1).numpy())
    src.prepare(replace(digits_ds, y_train=None, y_test=None))
    y_train = digits_ds.y_train.numpy()
    idx = np.concatenate([np.flatnonzero(y_train == c)[:5] for c in range(10)])
    pred, sel = src.predict(idx, y_train[idx], "self-train", seed=0)
    assert sel["n_unlabeled"] == len(y_train) - len(idx)  # the rest of train, never test
    assert pred.shape == (len(digits_ds.x_test),)
    assert np.mean(pred == digits_ds.y_test.numpy()) > 0.8


def test_few_shot_classifier_takes_minus_one_rows(digits_ds):
    x, y = digits_ds.x_train, digits_ds.y_train.numpy().copy()
    y[50:] = UNLABELED
    clf = FewShotClassifier(None, probe="self-train").fit(x, y)
    assert UNLABELED not in clf.classes_ and clf.selection_["n_unlabeled"] == len(y) - 50
    assert clf.predict_proba(digits_ds.x_test).shape == (len(digits_ds.x_test), len(clf.classes_))
    # for any other probe -1 is an ordinary label
    assert UNLABELED in FewShotClassifier(None, probe="lda").fit(x, y).classes_


def test_feature_source_hands_labeled_rows_then_the_rest_in_order(digits_ds, monkeypatch):
    """The probe gets X = [labeled rows; every other train row in train order], y = [labels; -1 ...]."""
    from dataclasses import replace

    import tenshot.evaluation.sources as sources

    seen = {}

    class Recorder(SelfTrainingProbe):
        def fit(self, X, y):
            seen["X"], seen["y"] = X.copy(), y.copy()
            return super().fit(X, y)

    monkeypatch.setattr(sources, "make_probe", lambda *a, **k: Recorder(max_rounds=1))
    src = FeatureSource("pixels", lambda t: t.reshape(len(t), -1).numpy())
    src.prepare(replace(digits_ds, y_train=None, y_test=None))
    y_train = digits_ds.y_train.numpy()
    idx = np.concatenate([np.flatnonzero(y_train == c)[3:6] for c in range(10)])
    src.predict(idx, y_train[idx], "self-train", seed=0)
    f = src.train_features
    np.testing.assert_array_equal(seen["X"], np.concatenate([f[idx], np.delete(f, idx, axis=0)]))
    np.testing.assert_array_equal(seen["y"], np.concatenate([y_train[idx], np.full(len(f) - len(idx), UNLABELED)]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fit_and_predict_leave_the_callers_arrays_as_they_were(dtype):
    x, y = semi(10, 200)
    x = x.astype(dtype)
    before = x.copy()
    probe = SelfTrainingProbe(max_rounds=2).fit(x, y)
    probe.predict(x)
    np.testing.assert_array_equal(x, before)  # the scaler works in place on the fit's own copies only
