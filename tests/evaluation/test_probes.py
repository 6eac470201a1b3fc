"""Probes choose C / k on the labeled set only, with sane fallbacks at the extremes."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, StratifiedKFold, StratifiedShuffleSplit
from sklearn.pipeline import Pipeline

from tenshot.errors import ConfigError
from tenshot.evaluation.probes import (
    C_GRID_LINEAR,
    C_GRID_SVM,
    K_GRID,
    PROBES,
    SEMI_SUPERVISED_PROBES,
    describe_selection,
    knn_grid,
    make_probe,
)


def test_unknown_probe_lists_choices():
    with pytest.raises(ConfigError, match="linear, knn, svm"):
        make_probe("ridge", 10, 0)


def test_bad_n_per_class():
    with pytest.raises(ConfigError, match=">= 1"):
        make_probe("linear", 0, 0)


@pytest.mark.parametrize("name", [p for p in PROBES if p not in SEMI_SUPERVISED_PROBES])
def test_one_label_per_class_uses_fixed_defaults(name, make_blobs):
    x, y = make_blobs(1, n_classes=4)
    est = make_probe(name, 1, seed=0)
    assert isinstance(est, Pipeline)  # no GridSearchCV: nothing to cross-validate on
    sel = describe_selection(est.fit(x, y))
    if name == "lda":  # no within-class covariance from one example: nearest class mean
        assert sel == {"selection": sel["selection"]} and "nearest class mean" in sel["selection"]
    else:
        assert sel == ({"k": 1} if name == "knn" else {"C": 1.0}) | {"selection": sel["selection"]}
        assert "fixed default" in sel["selection"]
    assert (est.predict(x) == y).all()


def test_lda_uses_the_shared_covariance_without_searching():
    """Two classes apart along feature 0, buried in noise shared by features 0 and 1 (3 features):
    nearest-mean fails, the Ledoit-Wolf-shrunk covariance of the labeled set finds
    feature 0 - feature 1. Nothing is cross-validated."""
    rng = np.random.default_rng(0)

    def sample(n):
        y = np.repeat([0, 1], n)
        x = rng.normal(0, 1, (2 * n, 3))
        shared = rng.normal(0, 8, 2 * n)
        x[:, 0] += 4 * y + shared
        x[:, 1] += shared
        return x, y

    x, y = sample(100)
    x_test, y_test = sample(500)
    est = make_probe("lda", 100, seed=0)
    assert isinstance(est, Pipeline)
    est.fit(x, y)
    assert describe_selection(est)["shrinkage"] == "ledoit-wolf"
    nearest_mean = make_probe("lda", 1, seed=0).fit(x, y)
    assert est.score(x_test, y_test) > 0.85 > 0.7 > nearest_mean.score(x_test, y_test)


@pytest.mark.parametrize("name,grid,key", [("linear", C_GRID_LINEAR, "C"), ("svm", C_GRID_SVM, "C")])
def test_cv_picks_c_from_grid_by_cv_score(name, grid, key, make_blobs):
    x, y = make_blobs(10, n_classes=3, spread=3.0, seed=2)
    est = make_probe(name, 10, seed=0).fit(x, y)
    assert isinstance(est, GridSearchCV)
    assert isinstance(est.cv, StratifiedKFold) and est.cv.get_n_splits() == 5 and est.cv.shuffle
    sel = describe_selection(est)
    assert sel[key] in grid
    assert sel["cv_accuracy"] == pytest.approx(est.cv_results_["mean_test_score"].max(), abs=1e-4)
    assert "5-fold" in sel["selection"]


@pytest.mark.parametrize("seed", range(4))
def test_knn_cv_moves_away_from_k1_under_label_noise(seed, make_blobs):
    # Tight blobs, 25% flipped labels: 1-NN copies the noise, CV must prefer a larger k.
    x, y = make_blobs(40, n_classes=2, dim=8, spread=1.0, seed=seed)
    y = np.where(np.random.default_rng(seed).random(len(y)) < 0.25, 1 - y, y)
    est = make_probe("knn", int(np.bincount(y).min()), seed=seed).fit(x, y)
    assert describe_selection(est)["k"] >= 5


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6, 8, 10, 13, 25, 100])
def test_knn_grid_never_exceeds_cv_fold(n, make_blobs):
    x, y = make_blobs(n, n_classes=3)
    est = make_probe("knn", n, seed=1)
    ks = est.param_grid["clf__n_neighbors"]
    assert ks == knn_grid(n) and set(ks) <= set(K_GRID) and ks[0] == 1
    for train, _ in est.cv.split(x, y):
        # every class of every CV-training fold can fill the largest neighbourhood alone
        assert max(ks) <= np.bincount(y[train]).min()
    est.fit(x, y)  # and the search runs
    assert describe_selection(est)["k"] in ks


def test_small_n_uses_fewer_folds():
    assert make_probe("linear", 3, 0).cv.get_n_splits() == 3


@pytest.mark.parametrize("n", [501, None])
def test_large_labeled_set_uses_one_holdout(n):
    est = make_probe("svm", n, seed=0)
    assert isinstance(est.cv, StratifiedShuffleSplit) and est.cv.get_n_splits() == 1
    assert make_probe("knn", n, 0).param_grid["clf__n_neighbors"] == list(K_GRID)


def test_holdout_selection_is_described(make_blobs):
    x, y = make_blobs(60, n_classes=2)
    est = make_probe("linear", None, seed=0).fit(x, y)
    assert "hold-out" in describe_selection(est)["selection"]


@pytest.mark.parametrize("n", [501, None])
def test_large_linear_probe_chooses_c_like_the_grid_search_on_one_holdout(n, make_blobs):
    """The warm-started path is a speed-up, not another selection: same split, same grid,
    hence the same C and hold-out accuracy as GridSearchCV (up to solver tolerance)."""
    x, y = make_blobs(520, n_classes=3, spread=6.0, seed=4)
    path = make_probe("linear", n, seed=0).fit(x, y)
    sel = describe_selection(path)
    assert sel["C"] in C_GRID_LINEAR and "hold-out" in sel["selection"]
    pipeline = make_probe("linear", 10, seed=0).estimator  # the same scaler + logistic regression
    holdout = StratifiedShuffleSplit(n_splits=1, test_size=0.1, random_state=0)
    grid = GridSearchCV(pipeline, {"clf__C": list(C_GRID_LINEAR)}, cv=holdout).fit(x, y)
    assert sel["cv_accuracy"] == pytest.approx(grid.best_score_, abs=0.02)
    assert (path.predict(x) == grid.predict(x)).mean() > 0.97


def test_describe_selection_needs_fitted_probe():
    with pytest.raises(ConfigError, match="fit"):
        describe_selection(make_probe("linear", 10, 0))
    with pytest.raises(ConfigError, match="make_probe"):
        describe_selection(object())
