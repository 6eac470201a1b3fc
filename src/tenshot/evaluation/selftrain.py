"""The ``self-train`` probe: shrinkage LDA that also learns from the unlabeled pool.

Frozen probes see only the few labeled rows; the user also has thousands of unlabeled
ones. Self-training (Yarowsky 1995; "pseudo-labelling", Lee 2013) lets the probe use them:

1. fit the ``lda`` probe on the labeled rows;
2. for each class, pseudo-label the ``step`` pool rows it is most sure belong to that class;
3. refit on labeled + pseudo-labeled rows; repeat, adding ``step`` more per class each round.

Class-balanced selection (a fixed number per predicted class, not a probability
threshold) because the few-label sampler draws every class equally, and a threshold
lets the classes the model is surest of take most pseudo-labels. That, and handing back
the model of every round (for the one-pass CV below), is why this is not scikit-learn's
``SelfTrainingClassifier`` (threshold or k-best overall; on DAE features, 10 labels per
class, 3 splits, its ``threshold=0.99`` over 3 rounds scored 73.7% where 2 class-balanced
rounds scored 74.0%). LDA as the base because it is the probe that needs no inner search
(so a round is one fit) and is the best at few labels on learned features
(``tenshot.evaluation.probes``).

No peeking: the number of rounds (0 = plain ``lda``) is chosen by stratified k-fold CV
over the *labeled* rows -- each fold self-trains from its training part, with the whole
unlabeled pool available, and is scored on its held-out labeled part. One self-training
run per fold scores every round count on the way, so the search costs one pass.
Test images are never part of the pool.

Measured (Fashion-MNIST, 10 labels per class, 3 splits, 20k-image pool; ``lda`` ->
``self-train``, ``benchmarks/label_efficiency.json``): wta-ae (7168-d) 75.6 -> 76.5%
(``wta_ae_self_train_cpu``); sparse AE 71.9 -> 73.9%, denoising AE 71.9 -> 72.5%, raw
pixels 67.6 -> 67.9% (``self_train_probe_cpu``); rotation 73.3 -> 74.1%
(``benchmarks/selfsup.json``, same key). It helps learned features, whose classes form
clusters, more than pixels. CV over 20 held-out labels per fold is coarse (one label = 5
points), so it often keeps fewer rounds than would have helped; that is the price of not
peeking. On a dev split (the last 10k train images scored, 10 labels per class from the
others, 3 splits) the mean gain kept growing with the rounds, fastest in the first:
wta-ae 75.3% at 0, 76.7 at 1, 76.9 at 4, 77.0 at 10; rotation 72.6, 74.1, 75.0, 75.3.
Cost: 5 folds x 5 LDA fits per split, plus the final run; with one thread and the
Woodbury-solved LDA (``tenshot.evaluation.lda``: n x n work, no d x d covariance)
80 s per split on the wta-ae's 7168-d features. With a d x d Cholesky solve it was
about 6 minutes per split at 4608-d, and with scikit-learn's lstsq 17 at 3584-d.

Shapes: ``fit(X, y)`` with ``X`` (n, d) and ``y`` (n,) int, ``-1`` marking unlabeled rows
(scikit-learn's semi-supervised convention); ``predict`` maps (m, d) -> (m,).
"""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from tenshot.errors import ConfigError, DataError

#: scikit-learn's marker for an unlabeled row in ``y``.
UNLABELED: Final = -1


def _base(n_per_class: int) -> BaseEstimator:
    """The ``lda`` probe's classifier, without its scaler (this probe scales once, on the
    pool): nearest class mean for one label per class, shrinkage LDA otherwise."""
    from tenshot.evaluation.probes import make_probe  # probes imports this module

    return make_probe("lda", n_per_class, seed=0, standardize=False).steps[-1][1]


def _confidence(model: BaseEstimator, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(predicted class index (n,), a score to rank rows of the same predicted class by)."""
    if isinstance(model, LinearDiscriminantAnalysis):
        scores = model.predict_proba(x)
    else:  # nearest mean: closeness to the centroid (its own scores divide by a 0 spread)
        scores = -((x[:, None, :] - model.centroids_[None]) ** 2).sum(axis=-1)
    return scores.argmax(axis=1), scores.max(axis=1)


def self_train(
    x: np.ndarray, y: np.ndarray, pool: np.ndarray, rounds: int, step: int
) -> list[BaseEstimator]:
    """The model after each round, 0 (labeled rows only) to ``rounds``.

    Round r refits on the labeled rows plus the ``r * step`` pool rows that the model of
    round r-1 ranks highest for each class it predicts (fewer if a class gets fewer).
    """
    counts = np.unique(y, return_counts=True)[1]
    model = _base(int(counts.min())).fit(x, y)
    models = [model]
    for r in range(1, rounds + 1):
        pred, conf = _confidence(model, pool)
        chosen = []
        for c in range(len(model.classes_)):
            rows = np.flatnonzero(pred == c)
            chosen.append(rows[np.argsort(-conf[rows], kind="stable")[: r * step]])
        keep = np.concatenate(chosen)
        x_r = np.concatenate([x, pool[keep]])
        y_r = np.concatenate([y, model.classes_[pred[keep]]])
        model = _base(int(np.unique(y_r, return_counts=True)[1].min())).fit(x_r, y_r)
        models.append(model)
    return models


class SelfTrainingProbe(ClassifierMixin, BaseEstimator):
    """Shrinkage LDA self-trained on unlabeled rows; the round count chosen by CV.

    Parameters:
        max_rounds: most self-training rounds tried (0 .. max_rounds are compared).
        step: fraction of the pool pseudo-labeled per round, spread evenly over the
            classes (0.05: 5% of the pool per round, 20% after 4 rounds).
        max_unlabeled: at most this many pool rows are used (a seeded subset): the few
            most confident rows per class are what matters, and LDA's covariance over
            many thousand rows is the cost. ``None`` = all.
        rounds: a fixed round count instead of the CV choice.
        standardize: scale features to unit variance (fitted on labeled + unlabeled
            rows; no labels involved), as the other linear probes do.
        seed: seeds the CV folds and the pool subset.

    Fitted: ``rounds_`` (chosen), ``cv_scores_`` (mean CV accuracy per round count, or
    ``None`` when nothing was searched), ``n_unlabeled_``, ``step_`` (rows per class per
    round), ``estimator_`` (the final classifier), ``classes_``.
    """

    def __init__(
        self,
        max_rounds: int = 4,
        step: float = 0.05,
        max_unlabeled: int | None = 20000,
        rounds: int | None = None,
        standardize: bool = True,
        seed: int = 0,
    ) -> None:
        self.max_rounds = max_rounds
        self.step = step
        self.max_unlabeled = max_unlabeled
        self.rounds = rounds
        self.standardize = standardize
        self.seed = seed

    def _check_params(self) -> None:
        if not (isinstance(self.max_rounds, int) and self.max_rounds >= 0):
            raise ConfigError(f"max_rounds must be an int >= 0, got {self.max_rounds!r}")
        if not 0.0 < float(self.step) <= 1.0:
            raise ConfigError(f"step must be a fraction of the pool in (0, 1], got {self.step!r}")
        if self.max_unlabeled is not None and self.max_unlabeled < 1:
            raise ConfigError(f"max_unlabeled must be >= 1 or None (all), got {self.max_unlabeled!r}")
        if self.rounds is not None and not (isinstance(self.rounds, int) and 0 <= self.rounds):
            raise ConfigError(f"rounds must be None (chosen by CV) or an int >= 0, got {self.rounds!r}")

    def fit(self, X: Any, y: Any) -> "SelfTrainingProbe":
        """``X`` (n, d) features of labeled and unlabeled rows; ``y`` (n,), -1 = unlabeled."""
        from tenshot.evaluation.probes import _describe_splitter, _splitter

        self._check_params()
        x = np.asarray(X)  # cast per row subset below: the pool may be 60k x thousands
        y = np.asarray(y)
        if x.ndim != 2 or len(x) != len(y):
            raise DataError(f"X must be (n, d) with one y per row; got X {x.shape}, y {y.shape}")
        labeled = y != UNLABELED
        self.classes_, counts = np.unique(y[labeled], return_counts=True)
        if len(self.classes_) < 2:
            raise DataError("the labeled rows (y != -1) hold fewer than 2 classes; a probe needs at least two")
        pool_rows = np.flatnonzero(~labeled)
        rng = np.random.default_rng(self.seed)
        if self.max_unlabeled is not None and len(pool_rows) > self.max_unlabeled:
            pool_rows = np.sort(rng.choice(pool_rows, self.max_unlabeled, replace=False))
        xl, yl, pool = x[labeled].astype(np.float64), y[labeled], x[pool_rows].astype(np.float64)
        if not (np.isfinite(xl).all() and np.isfinite(pool).all()):
            raise DataError("X has NaN or infinite features; check the representation")
        self.scaler_ = StandardScaler(with_std=bool(self.standardize)).fit(np.concatenate([xl, pool]))
        # In place: both are this fit's own float64 copies (the pool is 2.3 GB at 20k x 14336).
        xl = self.scaler_.transform(xl, copy=False)
        pool = self.scaler_.transform(pool, copy=False) if len(pool) else pool
        self.n_unlabeled_ = len(pool)
        self.step_ = max(1, math.ceil(float(self.step) * len(pool) / len(self.classes_)))
        n_min = int(counts.min())

        self.cv_scores_: list[float] | None = None
        if self.rounds is not None:
            self.rounds_, self.selection_how_ = self.rounds, "fixed by the caller"
        elif len(pool) == 0 or self.max_rounds == 0:
            self.rounds_, self.selection_how_ = 0, "no unlabeled rows to self-train on" if len(pool) == 0 else "max_rounds=0"
        elif n_min < 2:
            # Nothing to hold out: the middle of the range, fixed in advance like the other
            # probes' 1-label defaults.
            self.rounds_, self.selection_how_ = (self.max_rounds + 1) // 2, "fixed default: 1 label per class leaves nothing to cross-validate on"
        else:
            cv = _splitter(n_min, self.seed)  # the other probes' choice: k-fold, or a hold-out when large
            scores = np.zeros((cv.get_n_splits(), self.max_rounds + 1))
            for i, (tr, te) in enumerate(cv.split(xl, yl)):
                for r, model in enumerate(self_train(xl[tr], yl[tr], pool, self.max_rounds, self.step_)):
                    scores[i, r] = float(np.mean(model.predict(xl[te]) == yl[te]))
            mean = scores.mean(axis=0)  # (max_rounds + 1,), over folds
            self.cv_scores_ = [round(float(s), 4) for s in mean]
            self.rounds_ = int(np.argmax(mean))  # ties: the fewest rounds
            self.selection_how_ = f"{_describe_splitter(cv)} (the unlabeled pool in every fold)"
        self.estimator_ = self_train(xl, yl, pool, self.rounds_, self.step_)[-1]
        return self

    def _scaled(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        return self.scaler_.transform(np.asarray(X, dtype=np.float64))

    def predict(self, X: Any) -> np.ndarray:
        return self.estimator_.predict(self._scaled(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (m, n_classes); LDA's, or for the 1-label nearest-mean model
        NearestCentroid's."""
        return self.estimator_.predict_proba(self._scaled(X))

    def decision_function(self, X: Any) -> np.ndarray:
        return self.estimator_.decision_function(self._scaled(X))

    def describe(self) -> dict[str, Any]:
        """What was chosen, JSON-ready (``describe_selection`` returns this)."""
        check_is_fitted(self, "estimator_")
        out: dict[str, Any] = {
            "rounds": int(self.rounds_),
            "pseudo_labels_per_class": int(self.rounds_ * self.step_),
            "n_unlabeled": int(self.n_unlabeled_),
        }
        if self.cv_scores_ is not None:
            out["cv_accuracy"] = max(self.cv_scores_)
            out["cv_accuracy_by_rounds"] = self.cv_scores_
        out["selection"] = self.selection_how_
        return out
