"""Probes: the small classifiers fitted on frozen features from a few labels.

``make_probe`` returns an unfitted scikit-learn estimator that *selects its own
hyperparameter* (C or k) on the labeled set it is fitted on -- nothing else. That is
the no-peeking rule: the test split is never a model-selection set. The protocol
(``tenshot.evaluation.protocol``) scores the predictions once, afterwards.

How the hyperparameter is chosen depends on how many labels each class has:

========================  ==================================================
labels per class          selection
========================  ==================================================
1                         none possible: fixed defaults (C=1, k=1; lda: nearest
                          class mean, as no within-class covariance exists)
2 .. 500                  grid search, StratifiedKFold(min(5, n)), shuffled
> 500 or ``None`` (all)   grid search on one stratified 10% hold-out (a 5-fold
                          search over 60k x 1000-d features is too slow on CPU)
========================  ==================================================

The ``lda`` probe has no hyperparameter to search: shrinkage linear discriminant analysis
takes its shrinkage from the Ledoit-Wolf formula, computed on the labeled set alone.
With a few labels per class and a thousand features it estimates one shared covariance,
pulled toward the identity, and lets that whiten the class means. On learned features
that beats cross-validated logistic regression at few labels (Fashion-MNIST, 10
labels/class, 3 splits, ``benchmarks/label_efficiency.py``: autoencoder 70.7% -> 71.5%,
sparse 70.6 -> 71.9, denoising 71.3 -> 71.9, stacked 67.7 -> 69.5); on raw pixels and
PCA axes it loses (70.0 -> 67.6, 69.5 -> 61.9), so it is a probe to compare, not a
replacement.

The ``self-train`` probe is ``lda`` that also learns from the unlabeled pool by
pseudo-labelling, its number of rounds chosen by the same CV over the labeled rows
(``tenshot.evaluation.selftrain``); it is fitted on labeled + unlabeled rows.

Shapes: probes are fitted on ``X`` (n_labeled, d) float features and ``y``
(n_labeled,) int labels; ``predict`` maps (m, d) -> (m,).
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Final

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.model_selection import GridSearchCV, StratifiedKFold, StratifiedShuffleSplit
from sklearn.neighbors import KNeighborsClassifier, NearestCentroid
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import Normalizer, StandardScaler
from sklearn.svm import LinearSVC

from tenshot.errors import ConfigError
from tenshot.evaluation.lda import ShrinkageLDA
from tenshot.evaluation.selftrain import SelfTrainingProbe

PROBES: Final = ("linear", "knn", "svm", "lda", "self-train")
#: Probes that also learn from unlabeled rows: fitted on labeled + pool features, with
#: ``y == -1`` marking the pool (``tenshot.evaluation.selftrain``).
SEMI_SUPERVISED_PROBES: Final = ("self-train",)

# LogisticRegressionCV's transition notices (scikit-learn 1.9) about options tenshot does not
# use: l1_ratios (no elastic net here) and the layout of its fitted attributes (read
# version-independently in describe_selection).
warnings.filterwarnings("ignore", message=".*l1_ratios.*", category=FutureWarning)
warnings.filterwarnings("ignore", message=".*fitted attributes of LogisticRegressionCV.*", category=FutureWarning)

#: Above this many labels per class, one hold-out split replaces k-fold CV (speed).
LARGE_PER_CLASS: Final = 500
#: Fraction of the labeled set held out for selection in the large regime.
HOLDOUT_FRACTION: Final = 0.1

C_GRID_LINEAR: Final = tuple(float(c) for c in np.logspace(-3, 2, 6))  # 1e-3 .. 1e2
C_GRID_SVM: Final = tuple(float(c) for c in np.logspace(-4, 1, 6))  # 1e-4 .. 1e1
K_GRID: Final = (1, 3, 5, 10, 20)

# The value used when there is nothing to cross-validate on (1 label per class).
DEFAULTS: Final = {"linear": {"C": 1.0}, "svm": {"C": 1.0}, "knn": {"k": 1}}

# Public hyperparameter name -> the pipeline parameter it sets.
_PARAM = {"linear": ("C", "clf__C"), "svm": ("C", "clf__C"), "knn": ("k", "clf__n_neighbors")}


class _NearestMean(NearestCentroid):
    """NearestCentroid, quiet about the within-class spread it always computes (for its
    unused ``shrink_threshold``): with one example per class that is 0/0, a RuntimeWarning
    a user of the 1-label probe would otherwise see on every fit."""

    def fit(self, X: Any, y: Any) -> "_NearestMean":
        # (and about constant features, e.g. image borders, for the same unused spread)
        with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*within_class_std_dev_.*", category=UserWarning)
            return super().fit(X, y)


def check_probe(name: str) -> str:
    """Return ``name`` if it is a known probe, else raise ConfigError listing the choices."""
    if name not in PROBES:
        raise ConfigError(f"unknown probe {name!r}: choose one of {', '.join(PROBES)}")
    return name


def _pipeline(name: str, standardize: bool = True) -> Pipeline:
    """The probe itself, with its default hyperparameter.

    ``standardize=False`` drops the per-feature StandardScaler of the linear probes, for
    features whose relative scales carry meaning (PCA: standardising its axes would
    whiten them and blow the noise of the weak ones up to the level of the strong ones).
    """
    scale = StandardScaler() if standardize else "passthrough"
    if name == "linear":
        # lbfgs on standardised features is multinomial (softmax) regression; 2000
        # iterations so that the weakly regularised end of the grid converges.
        clf: BaseEstimator = LogisticRegression(C=DEFAULTS["linear"]["C"], max_iter=2000)
        return Pipeline([("scale", scale), ("clf", clf)])
    if name == "svm":
        clf = LinearSVC(C=DEFAULTS["svm"]["C"], penalty="l2", dual="auto", max_iter=5000)
        return Pipeline([("scale", scale), ("clf", clf)])
    if name == "lda":
        # scikit-learn's lsqr-solver LDA with Ledoit-Wolf shrinkage, solved by Cholesky
        # (tenshot.evaluation.lda: the same coefficients, 7x faster on 4608-d features).
        clf = ShrinkageLDA()
        return Pipeline([("scale", scale), ("clf", clf)])
    # kNN: on L2-normalised rows euclidean distance ranks neighbours exactly as cosine
    # similarity does (|a-b|^2 = 2 - 2 cos), and lets sklearn use its fast paths.
    # Distance weighting makes ties and large k degrade gracefully.
    clf = KNeighborsClassifier(n_neighbors=DEFAULTS["knn"]["k"], weights="distance")
    return Pipeline([("norm", Normalizer(norm="l2")), ("clf", clf)])


def _splitter(n_per_class: int | None, seed: int) -> StratifiedKFold | StratifiedShuffleSplit:
    if n_per_class is None or n_per_class > LARGE_PER_CLASS:
        return StratifiedShuffleSplit(n_splits=1, test_size=HOLDOUT_FRACTION, random_state=seed)
    return StratifiedKFold(n_splits=min(5, n_per_class), shuffle=True, random_state=seed)


def _describe_splitter(cv: StratifiedKFold | StratifiedShuffleSplit) -> str:
    """How ``_splitter``'s choice reads in a probe's selection record."""
    if isinstance(cv, StratifiedKFold):
        return f"{cv.get_n_splits()}-fold stratified CV on the labeled set"
    return f"stratified {HOLDOUT_FRACTION:.0%} hold-out of the labeled set"


def knn_grid(n_per_class: int | None) -> list[int]:
    """The k values worth trying when every class has ``n_per_class`` labels.

    A CV-training fold keeps ``n - ceil(n / n_splits)`` labels of each class; k is capped
    there so a neighbourhood can always be filled by a single class (and so k can never
    exceed a fold's size, which would make kNN fail). ``None`` (all labels) = large.
    """
    if n_per_class is None or n_per_class > LARGE_PER_CLASS:
        return list(K_GRID)  # hundreds of labels per class: every k fits
    if n_per_class < 2:
        return [DEFAULTS["knn"]["k"]]
    n_splits = min(5, n_per_class)
    fold_per_class = n_per_class - math.ceil(n_per_class / n_splits)
    return [k for k in K_GRID if k <= fold_per_class] or [1]


def make_probe(name: str, n_per_class: int | None, seed: int, standardize: bool = True) -> BaseEstimator:
    """An unfitted probe that picks its hyperparameter on the data it is fitted on.

    Args:
        name: one of ``PROBES``. ``"self-train"`` (a ``SelfTrainingProbe``) is fitted on
            labeled *and* unlabeled rows, ``y == -1`` marking the unlabeled ones.
        n_per_class: labels of the *smallest* class in the labeled set it will be fitted
            on; ``None`` means "all labels" (treated as large).
        seed: seeds the CV shuffling, so results are reproducible per split seed.
        standardize: scale each feature to unit variance before a linear probe.

    Returns:
        A ``GridSearchCV`` over a Pipeline (refit on the whole labeled set with the best
        value); for the linear probe with many labels a Pipeline ending in
        ``LogisticRegressionCV`` (the same choice, on a warm-started path); for 1 label per
        class the bare Pipeline with defaults. Pass the fitted
        result to ``describe_selection`` for what was chosen.

    Raises:
        ConfigError: unknown probe name or ``n_per_class < 1``.
    """
    check_probe(name)
    if n_per_class is not None and n_per_class < 1:
        raise ConfigError(f"n_per_class must be >= 1 (or None for all labels), got {n_per_class}")
    if name == "self-train":
        return SelfTrainingProbe(seed=seed, standardize=standardize)  # selects its rounds itself
    pipe = _pipeline(name, standardize)
    if name == "lda" and n_per_class == 1:
        # One example per class has no within-class scatter: the covariance shrinks all
        # the way to the identity, i.e. nearest class mean in the (scaled) feature space.
        return Pipeline([*pipe.steps[:-1], ("clf", _NearestMean())])
    if n_per_class == 1 or name == "lda":
        return pipe  # nothing to hold out / nothing to search: fitted as it is
    if name == "linear" and (n_per_class is None or n_per_class > LARGE_PER_CLASS):
        # Many labels: scikit-learn's regularisation path, each C warm-started from the
        # last and the final refit from the chosen one -- the same hold-out choice as the
        # grid search, in fewer lbfgs iterations (20k x 1664 DAE features: same C, 146 s
        # instead of 183 s on one thread).
        # (The scaler sees the whole labeled set here: labeled data only, never test.)
        path = LogisticRegressionCV(
            Cs=list(C_GRID_LINEAR), cv=_splitter(n_per_class, seed), scoring="accuracy", max_iter=2000, refit=True
        )
        return Pipeline([*pipe.steps[:-1], ("clf", path)])
    grid = knn_grid(n_per_class) if name == "knn" else list(C_GRID_LINEAR if name == "linear" else C_GRID_SVM)
    return GridSearchCV(
        pipe,
        {_PARAM[name][1]: grid},
        cv=_splitter(n_per_class, seed),
        scoring="accuracy",
        refit=True,
        n_jobs=None,  # the machine is shared and small; parallelism belongs to the caller
        error_score="raise",
    )


def _probe_name(pipe: Pipeline) -> str:
    clf = pipe.named_steps["clf"]
    if isinstance(clf, (LinearDiscriminantAnalysis, NearestCentroid)):
        return "lda"
    if isinstance(clf, LogisticRegression):
        return "linear"
    if isinstance(clf, LinearSVC):
        return "svm"
    return "knn"


def describe_selection(fitted: BaseEstimator) -> dict[str, Any]:
    """What a fitted probe from ``make_probe`` chose, as a JSON-ready dict.

    E.g. ``{"C": 0.1, "cv_accuracy": 0.87, "selection": "5-fold stratified CV on the
    labeled set"}`` or ``{"k": 1, "selection": "fixed default: ..."}``.
    """
    if isinstance(fitted, SelfTrainingProbe):
        if not hasattr(fitted, "estimator_"):
            raise ConfigError("describe_selection needs a fitted probe: call .fit(X, y) first")
        return fitted.describe()
    if isinstance(fitted, GridSearchCV):
        if not hasattr(fitted, "best_params_"):
            raise ConfigError("describe_selection needs a fitted probe: call .fit(X, y) first")
        name = _probe_name(fitted.estimator)
        key, param = _PARAM[name]
        how = _describe_splitter(fitted.cv)
        value = fitted.best_params_[param]
        return {
            key: int(value) if key == "k" else float(value),
            "cv_accuracy": round(float(fitted.best_score_), 4),
            "selection": how,
        }
    if isinstance(fitted, Pipeline) and isinstance(fitted.named_steps["clf"], LogisticRegressionCV):
        path = fitted.named_steps["clf"]
        if not hasattr(path, "C_"):
            raise ConfigError("describe_selection needs a fitted probe: call .fit(X, y) first")
        # scikit-learn < 1.10 keeps a dict of per-class copies, later versions one array
        scores = next(iter(path.scores_.values())) if isinstance(path.scores_, dict) else path.scores_
        scores = np.asarray(scores).reshape(len(scores), -1).mean(axis=0)  # (n_Cs,), over hold-out splits
        return {
            "C": float(np.ravel(path.C_)[0]),
            "cv_accuracy": round(float(scores.max()), 4),
            "selection": f"stratified {HOLDOUT_FRACTION:.0%} hold-out of the labeled set (warm-started C path)",
        }
    if isinstance(fitted, Pipeline) and _probe_name(fitted) == "lda":
        clf = fitted.named_steps["clf"]
        if isinstance(clf, NearestCentroid):
            return {"selection": "fixed: nearest class mean (1 label per class: no within-class covariance)"}
        if not hasattr(clf, "coef_"):
            raise ConfigError("describe_selection needs a fitted probe: call .fit(X, y) first")
        return {"shrinkage": "ledoit-wolf", "selection": "analytic (Ledoit-Wolf) on the labeled set; nothing searched"}
    if isinstance(fitted, Pipeline):
        name = _probe_name(fitted)
        key, param = _PARAM[name]
        value = fitted.get_params()[param]
        return {
            key: int(value) if key == "k" else float(value),
            "selection": "fixed default: 1 label per class leaves nothing to cross-validate on",
        }
    raise ConfigError(f"describe_selection expects a probe from make_probe, got {type(fitted).__name__}")
