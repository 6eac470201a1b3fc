"""Sources: what the label-efficiency protocol evaluates.

A *source* turns "these few labeled train examples" into "predictions for the test
split". It never sees test labels: ``prepare`` receives the dataset with its labels
stripped, and ``predict`` receives only the labeled subset. The protocol scores the
returned predictions (see ``tenshot.evaluation.protocol``).

Two kinds plug in:

* ``FeatureSource`` -- a frozen representation (pixels, PCA, a pretrained encoder):
  features are computed once, a probe from ``make_probe`` is fitted per split.
* trained sources (e.g. ``tenshot.evaluation.supervised.SupervisedSource``) that train
  their own classifier on the labeled subset. They set ``probes = ("net",)``: the
  protocol then ignores its ``probes`` argument for them and evaluates once per split
  under that name.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from tenshot.data.dataset import Dataset
from tenshot.errors import ConfigError, DataError, NotFittedError
from tenshot.evaluation.probes import SEMI_SUPERVISED_PROBES, describe_selection, make_probe
from tenshot.evaluation.selftrain import UNLABELED

Featurize = Callable[[torch.Tensor], np.ndarray]


@runtime_checkable
class Source(Protocol):
    """Anything the protocol can evaluate.

    Optional attribute ``probes: tuple[str, ...] | None``: when set, the source ignores
    the ``probe`` argument of ``predict`` and the protocol evaluates it once per split
    under each name given (e.g. ``("net",)``). ``None`` / absent = uses the probe.
    """

    name: str

    def prepare(self, ds: Dataset) -> None:
        """Called once per dataset, with ``y_train`` and ``y_test`` set to ``None``."""
        ...

    def predict(
        self, train_idx: np.ndarray, y_labeled: np.ndarray, probe: str, seed: int
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Fit on x_train[train_idx] with labels ``y_labeled`` (n,); return
        (predicted test labels (n_test,), chosen hyperparameters as a JSON-ready dict)."""
        ...


def fixed_probes(source: Source) -> tuple[str, ...] | None:
    """The probe names a source evaluates itself under, or None if it uses the probe."""
    names = getattr(source, "probes", None)
    return None if names is None else tuple(names)


def _check_features(f: Any, n: int, what: str, source: str) -> np.ndarray:
    """Features as a finite float (n, d) array, or a DataError saying what went wrong."""
    if isinstance(f, torch.Tensor):
        f = f.detach().cpu().numpy()
    f = np.asarray(f)
    if f.ndim != 2 or f.shape[0] != n:
        raise DataError(
            f"source {source!r}: featurize returned shape {f.shape} for {n} {what} images; "
            f"it must return one feature row per image, shape ({n}, d)"
        )
    if not np.issubdtype(f.dtype, np.floating):
        f = f.astype(np.float32)
    if not np.isfinite(f).all():
        raise DataError(
            f"source {source!r}: featurize returned NaN/inf features for the {what} split; "
            "check the representation (was pretraining diverged?)"
        )
    return f


@dataclass(eq=False)
class FeatureSource:
    """A frozen representation evaluated with a probe.

    Args:
        name: how the source is reported ("pixels", "pca", a run name).
        featurize: images (N, C, H, W) float32 -> features (N, d) numpy array.
        fit: optional *unsupervised* step run on the unlabeled train images (N, C, H, W)
            before featurizing (e.g. fitting PCA). It never receives labels.
        standardize: whether linear probes scale each feature to unit variance (see
            ``make_probe``); off for PCA, whose axes' variances are the information.

    Features of x_train and x_test are computed once in ``prepare`` and reused by every
    (labels-per-class, probe, seed) call to ``predict``.
    """

    name: str
    featurize: Featurize
    fit: Callable[[torch.Tensor], Any] | None = None
    probes: tuple[str, ...] | None = None  # None: evaluated with the protocol's probes
    standardize: bool = True
    _cache_key: tuple[Any, ...] | None = field(default=None, init=False, repr=False)
    _train: np.ndarray | None = field(default=None, init=False, repr=False)
    _test: np.ndarray | None = field(default=None, init=False, repr=False)

    def prepare(self, ds: Dataset) -> None:
        """Compute (n_train, d) and (n_test, d) features; a no-op for the same images."""
        if ds.x_test is None:
            raise DataError(f"dataset {ds.name!r} has no test split; a probe needs one to be scored on")
        key = (ds.x_train, ds.x_test)
        if self._cache_key is not None and all(a is b for a, b in zip(self._cache_key, key)):
            return  # same tensors as last time: features are still valid
        if self.fit is not None:
            self.fit(ds.x_train)  # unsupervised, on the train pool only
        self._train = _check_features(self.featurize(ds.x_train), len(ds.x_train), "train", self.name)
        self._test = _check_features(self.featurize(ds.x_test), len(ds.x_test), "test", self.name)
        if self._train.shape[1] != self._test.shape[1]:
            raise DataError(
                f"source {self.name!r}: train features have {self._train.shape[1]} dims but test "
                f"features {self._test.shape[1]}; featurize must map every image to the same size"
            )
        self._cache_key = key

    @property
    def train_features(self) -> np.ndarray:
        """(n_train, d) features of the whole train pool (after ``prepare``)."""
        if self._train is None:
            raise NotFittedError(f"source {self.name!r}: call prepare(ds) before using its features")
        return self._train

    def predict(
        self, train_idx: np.ndarray, y_labeled: np.ndarray, probe: str, seed: int
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Fit ``make_probe(probe)`` on features[train_idx] (n, d) with ``y_labeled`` (n,);
        return test predictions (n_test,) and the chosen hyperparameters."""
        x = self.train_features[np.asarray(train_idx)]
        y = np.asarray(y_labeled)
        if len(x) != len(y):
            raise DataError(f"{len(train_idx)} train indices but {len(y)} labels; pass one label per index")
        counts = np.unique(y, return_counts=True)[1]
        if len(counts) < 2:
            raise DataError("the labeled subset has a single class; a probe needs at least two")
        est = make_probe(probe, int(counts.min()), seed, self.standardize)
        if probe in SEMI_SUPERVISED_PROBES:
            # The rest of the train pool, unlabeled (y = -1): the images a user has anyway.
            # Never the test images, which are only predicted.
            # Written straight into one array (np.delete + concatenate made two copies of
            # the pool: 2 x 3.4 GB for 60k x 14336 features).
            rest = np.ones(len(self.train_features), dtype=bool)
            rest[np.asarray(train_idx)] = False
            n_labeled = len(x)
            full = np.empty((n_labeled + int(rest.sum()), x.shape[1]), dtype=x.dtype)
            full[:n_labeled] = x
            np.compress(rest, self.train_features, axis=0, out=full[n_labeled:])
            x, y = full, np.concatenate([y, np.full(len(full) - n_labeled, UNLABELED, dtype=y.dtype)])
        # One BLAS thread: a probe fits a few hundred rows, where threads only add overhead,
        # and on a busy machine oversubscribed BLAS threads made fits 50-100x slower.
        with warnings.catch_warnings(), threadpool_limits(1):
            # The weakly regularised end of a C grid may stop short of full convergence;
            # CV judges those candidates on accuracy anyway, so the warning is noise.
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(x, y)
            pred = est.predict(self._test)  # _test is set together with _train
        return np.asarray(pred), describe_selection(est)


def _flatten(x: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) -> (N, C*H*W) float32."""
    return x.reshape(len(x), -1).to(torch.float32).cpu().numpy()


def pixels_source(name: str = "pixels") -> FeatureSource:
    """The raw-pixel baseline: flattened images, (N, C*H*W), in [0, 1] as they are.

    Not standardised: per-pixel unit variance lifts the near-constant border pixels to the
    level of the informative ones. On Fashion-MNIST with 10 labels per class that costs the
    linear probe about a point (68.7% vs 70.0% over 3 splits); the baseline is kept strong.
    """
    return FeatureSource(name, _flatten, standardize=False)


def pca_source(n_components: int | float | None = None, name: str = "pca", seed: int = 0) -> FeatureSource:
    """The PCA baseline: flattened pixels projected on the train pool's principal axes.

    PCA is fitted on the *unlabeled* train images only (no labels, no test images), so
    it is as much "unsupervised pretraining" as any method and peeks at nothing.

    Args:
        n_components: an int keeps that many axes; a float in (0, 1) keeps as many as
            explain that fraction of the variance (exact SVD, slower); ``None`` (default)
            keeps ``min(100, n_pixels, n_train - 1)`` -- 100 axes hold >90% of the variance
            of MNIST-like images and keep probes fast.
        seed: seeds the randomized SVD.

    No whitening, and the linear probes do not standardise these features: equalising
    the variance of the axes gives the noisy trailing ones as much weight as the leading
    ones (measured on Fashion-MNIST, 10 labels/class: 100 axes standardised 55.4%,
    unscaled 71.6%). One global factor puts the features on a unit scale instead, so
    the probe's C grid means the same as for other sources.
    """
    if n_components is not None:
        ok = (isinstance(n_components, int) and n_components >= 1) or (
            isinstance(n_components, float) and 0.0 < n_components < 1.0
        )
        if not ok:
            raise ConfigError(
                f"n_components={n_components!r}: give an int >= 1 (number of axes) or a float "
                "in (0, 1) (fraction of variance to keep), or None for min(100, ...)"
            )
    state: dict[str, Any] = {}

    def fit(x: torch.Tensor) -> None:
        flat = _flatten(x)
        n, d = flat.shape
        k = n_components if n_components is not None else min(100, d, n - 1)
        if isinstance(k, int):
            k = min(k, d, n)
            # Randomized SVD is what makes 60k x 784 -> 100 fast; it needs k well below
            # min(n, d), otherwise an exact SVD is both cheap and required.
            solver = "randomized" if k < 0.8 * min(n, d) else "full"
        else:
            solver = "full"  # a variance fraction needs the whole spectrum
        pca = PCA(n_components=k, svd_solver=solver, whiten=False, random_state=seed).fit(flat)
        state["pca"] = pca
        state["scale"] = float(np.sqrt(pca.explained_variance_.mean()))

    def featurize(x: torch.Tensor) -> np.ndarray:
        if "pca" not in state:
            raise NotFittedError("pca source: call prepare(ds) first (PCA is fitted on the train pool)")
        return (state["pca"].transform(_flatten(x)) / state["scale"]).astype(np.float32)

    return FeatureSource(name, featurize, fit=fit, standardize=False)
