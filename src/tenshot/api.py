"""scikit-learn style estimators.

``Pretrainer`` learns a representation from unlabeled images (``fit`` never looks at
``y``) and ``transform``s images into features; ``FewShotClassifier`` puts a probe on
top, with its hyperparameters chosen by cross-validation on the labeled data it is
given. Both follow sklearn's conventions: the constructor only stores arguments,
learned state ends in ``_``.
"""

from __future__ import annotations

import dataclasses
import inspect
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from tenshot import __version__, io
from tenshot.config import TrainConfig
from tenshot.errors import CheckpointError, ConfigError, DataError
from tenshot.methods.base import Method
from tenshot.registry import DEFAULT_METHOD, get_method
from tenshot.training import fit as engine_fit

_TRAIN_FIELDS = set(TrainConfig.__dataclass_fields__)


class Pretrainer(TransformerMixin, BaseEstimator):
    """Pretrain a representation on unlabeled images, then ``transform`` images to features.

    Parameters: ``method`` (see ``tenshot methods``), the engine's settings (every field
    of ``TrainConfig``: epochs, batch_size, lr, seed, max_train, accelerator, ...), ``image_shape`` (C, H, W) to reshape flat 2-D input, and any option of the
    method's config as a keyword (``Pretrainer("sparse-ae", latent_dim=1024)``).

    Input: images (N, C, H, W) or (N, H, W), or flat vectors (N, D) -- read as
    ``image_shape`` when given, else as (1, 1, D) -- as numpy arrays or tensors.
    """

    # Run kinds this class loads: features can be read from any run.
    KINDS: tuple[str, ...] = ("pretrain", "semisup")

    def __init__(
        self,
        method: str = DEFAULT_METHOD,
        *,
        epochs: int = 10,
        batch_size: int = 128,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        seed: int = 0,
        max_train: int | None = None,
        accelerator: str = "auto",
        devices: str = "auto",
        strategy: str = "auto",
        precision: str = "32-true",
        progress: bool = False,
        num_workers: int = 0,
        checkpoint_every: int = 1,
        threads: int | None = None,
        reuse_heap: bool = True,
        image_shape: tuple[int, int, int] | None = None,
        **method_params: Any,
    ) -> None:
        self.method = method
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.seed = seed
        self.max_train = max_train
        self.accelerator = accelerator
        self.devices = devices
        self.strategy = strategy
        self.precision = precision
        self.progress = progress
        self.num_workers = num_workers
        self.checkpoint_every = checkpoint_every
        self.threads = threads
        self.reuse_heap = reuse_heap
        self.image_shape = image_shape
        # Method options are parameters too (get_params/set_params/clone see them).
        for key, value in method_params.items():
            setattr(self, key, value)

    # --- parameters ------------------------------------------------------------------
    @classmethod
    def _base_param_names(cls) -> list[str]:
        return [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "method_params")]

    def _method_param_names(self) -> list[str]:
        base = set(self._base_param_names())
        return sorted(k for k in vars(self) if k not in base and not k.startswith("_") and not k.endswith("_"))

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        names = self._base_param_names() + self._method_param_names()
        return {name: getattr(self, name) for name in names}

    def set_params(self, **params: Any) -> "Pretrainer":
        for key, value in params.items():
            setattr(self, key, value)
        return self

    def configs(self):
        """(method class, method config, train config) from the current parameters."""
        method_cls, config_cls = get_method(self.method)
        method_config = config_cls.from_dict({k: getattr(self, k) for k in self._method_param_names()})
        train = TrainConfig.from_dict(
            {k: getattr(self, k) for k in self._base_param_names() if k in _TRAIN_FIELDS}
        )
        return method_cls, method_config, train

    def check(self, input_shape: tuple[int, int, int] | None = None, n_images: int | None = None) -> None:
        """Validate every parameter, and that this estimator can train the method; with
        ``input_shape`` (C, H, W) also that the method accepts such images -- it is built
        once, so e.g. colorization refuses gray data before any run folder is written --
        and with ``n_images`` that there are enough of them (after ``max_train``)."""
        method_cls, config, train = self.configs()
        self._check_method(method_cls)
        if input_shape is not None:
            method = method_cls(config, tuple(input_shape), train)
            if n_images is not None:
                method.check_data(min(n_images, train.max_train or n_images))

    def _check_method(self, method_cls: type[Method]) -> None:
        if getattr(method_cls, "needs_labels", False):
            raise ConfigError(
                f"{self.method} is semi-supervised: run `tenshot semisup {self.method} --labels-per-class N ...` "
                "(in Python: SemiSupervisedClassifier)"
            )

    # --- data --------------------------------------------------------------------------
    def _images(self, X: Any, reset: bool) -> torch.Tensor:
        """Validate X (finite, numeric) and shape it (N, C, H, W) float32."""
        if isinstance(X, torch.Tensor):
            X = X.detach().cpu().numpy()
        try:
            arr = validate_data(self, X, reset=reset, allow_nd=True, dtype=np.float32, ensure_min_features=1)
        except ValueError as exc:
            raise DataError(str(exc)) from exc
        if arr.ndim == 3:
            arr = arr[:, None]
        elif arr.ndim == 2:
            shape = tuple(self.image_shape) if self.image_shape else (1, 1, arr.shape[1])
            if int(np.prod(shape)) != arr.shape[1]:
                raise DataError(f"image_shape {shape} does not hold {arr.shape[1]} features per row")
            arr = arr.reshape(len(arr), *shape)
        elif arr.ndim != 4:
            raise DataError(f"expected images (N, C, H, W), (N, H, W) or vectors (N, D); got an array of shape {arr.shape}")
        if not reset and tuple(arr.shape[1:]) != tuple(self.input_shape_):
            raise DataError(
                f"images of shape {tuple(arr.shape[1:])} given, but this representation was fitted on {tuple(self.input_shape_)}"
            )
        return torch.from_numpy(np.ascontiguousarray(arr))

    # --- fit / transform ---------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, *, run_dir: str | Path | None = None, resume: bool = False) -> "Pretrainer":
        """Learn the representation from X alone (``y`` is ignored: pretraining is unsupervised)."""
        self.check()
        return self._fit(self._images(X, reset=True), run_dir, resume)

    def _fit(self, x: torch.Tensor, run_dir: str | Path | None, resume: bool, labeled=None) -> "Pretrainer":
        method_cls, method_config, train = self.configs()
        self.input_shape_ = tuple(int(s) for s in x.shape[1:])
        torch.manual_seed(train.seed)  # weight init is part of the seeded run
        model = method_cls(method_config, self.input_shape_, train)
        self.history_ = engine_fit(model, x, train, Path(run_dir) if run_dir else None, resume=resume, labeled=labeled)
        self.model_ = model.cpu().eval()
        return self

    def _device(self) -> torch.device:
        wants_gpu = self.accelerator in ("auto", "gpu", "cuda")
        return torch.device("cuda" if wants_gpu and torch.cuda.is_available() else "cpu")

    def transform(self, X: Any) -> np.ndarray:
        """Images -> features (N, D) float32 numpy array."""
        check_is_fitted(self, "model_")
        x = self._images(X, reset=False)
        model = self.model_.to(self._device())
        try:
            return model.features(x).numpy()
        finally:
            self.model_ = model.cpu()

    @property
    def model(self) -> Method:
        check_is_fitted(self, "model_")
        return self.model_

    # --- persistence -------------------------------------------------------------------
    def run_config(self, data: str | None = None) -> dict[str, Any]:
        _, method_config, train = self.configs()
        return {
            "tenshot": __version__,
            "kind": self.KINDS[0],
            "method": self.method,
            "method_config": method_config.to_dict(),
            "train": train.to_dict(),
            "input_shape": list(getattr(self, "input_shape_", []) or []),
            "image_shape": list(self.image_shape) if self.image_shape else None,
            "n_features_in": getattr(self, "n_features_in_", None),
            "data": data,
        }

    def save(self, path: str | Path, data: str | None = None, metrics: dict[str, Any] | None = None) -> Path:
        """Write ``path/config.json``, ``path/model.safetensors``, ``path/metrics.json``."""
        check_is_fitted(self, "model_")
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        io.write_json(path / io.CONFIG, {**self.run_config(data), "status": "done"})
        io.save_weights(path / io.WEIGHTS, self.model_.state_dict())
        record = {k: v for k, v in self.history_.items()}
        io.update_metrics(path, {**record, **(metrics or {})})
        return path

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Pretrainer":
        train = {k: v for k, v in config.get("train", {}).items() if k in cls._base_param_names()}
        shape = config.get("image_shape")
        return cls(config["method"], **train, image_shape=tuple(shape) if shape else None, **config.get("method_config", {}))

    @classmethod
    def load(cls, path: str | Path, method: str | None = None) -> "Pretrainer":
        """Load a run folder. With ``method``, refuse a run saved by another method."""
        path = Path(path)
        config = io.read_run_config(path)
        saved = config["method"]
        if method is not None and method != saved:
            raise CheckpointError(f"{path} was saved by method {saved!r}, not {method!r}; load it as {saved!r}")
        if config.get("kind", "pretrain") not in cls.KINDS:
            hint = (f"SemiSupervisedEnsemble.load, or use one of its member folders ({path / 'member-0'})"
                    if config.get("kind") == SemiSupervisedEnsemble.KIND else "the class that made it")
            raise CheckpointError(f"{path} is a {config.get('kind')!r} run; load it with {hint}")
        try:
            rep = cls.from_config(config)
            method_cls, method_config, train = rep.configs()
        except ConfigError as exc:
            raise CheckpointError(f"{path / io.CONFIG} has an invalid configuration: {exc}") from None
        shape = tuple(config.get("input_shape") or ())
        if len(shape) != 3:
            raise CheckpointError(f"{path / io.CONFIG} has no valid input_shape; the run folder is damaged")
        model = method_cls(method_config, shape, train)
        state = io.load_weights(path / io.WEIGHTS)
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            first = str(exc).splitlines()[0]
            raise CheckpointError(f"{path / io.WEIGHTS} does not fit method {saved!r} with the saved config ({first})") from None
        rep.model_ = model.eval()
        rep.input_shape_ = shape
        rep.n_features_in_ = int(config.get("n_features_in") or shape[0])
        metrics_path = path / io.METRICS
        rep.history_ = io.read_json(metrics_path) if metrics_path.exists() else {}
        rep._restore(config)
        return rep

    def _restore(self, config: dict[str, Any]) -> None:
        """Fitted state beyond the weights, from a run's config.json (subclasses)."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        tags.transformer_tags.preserves_dtype = ["float32"]  # the networks compute in float32
        return tags


class FewShotClassifier(ClassifierMixin, BaseEstimator):
    """A probe on frozen features, its hyperparameter chosen by CV on the labels given.

    Parameters:
        representation: a fitted ``Pretrainer``, a run folder (str/Path) to load, or
            ``None`` for raw pixels (flattened). An *unfitted* Pretrainer is fitted on
            ``X`` in ``fit`` (without ``y``) -- better: fit it on your unlabeled pile first.
        probe: "linear" (multinomial logistic regression), "svm" (L2 linear SVM),
            "knn" (cosine), "lda" (shrinkage linear discriminant analysis, nothing to
            search) or "self-train" (lda that also pseudo-labels the rows whose ``y`` is
            -1, its rounds chosen by CV on the labeled rows); see
            ``tenshot.evaluation.probes``.
        seed: seeds the cross-validation folds.

    ``fit(X, y)`` is the few-label step: with n labels of the rarest class it runs an
    n-fold (at most 5) stratified CV over the probe's grid on (X, y) alone, then refits
    on all of it. ``selection_`` says what was chosen.

    Example::

        rep = Pretrainer("denoising-ae", epochs=5).fit(unlabeled)
        clf = FewShotClassifier(rep).fit(x_few, y_few)
        clf.score(x_test, y_test)
    """

    def __init__(self, representation: Any = None, probe: str = "linear", seed: int = 0) -> None:
        self.representation = representation
        self.probe = probe
        self.seed = seed

    def _features(self, X: Any, reset: bool) -> np.ndarray:
        """(N, D) features: the representation's, or the flattened pixels."""
        if self.representation_ is not None:
            return self.representation_.transform(X)  # checks shapes and values itself
        arr = X.detach().cpu().numpy() if isinstance(X, torch.Tensor) else X
        try:
            arr = validate_data(self, arr, reset=reset, allow_nd=True, dtype=np.float32)
        except ValueError as exc:
            raise DataError(str(exc)) from exc
        return arr.reshape(len(arr), -1)

    def fit(self, X: Any, y: Any) -> "FewShotClassifier":
        from tenshot.evaluation.probes import SEMI_SUPERVISED_PROBES, check_probe, describe_selection, make_probe
        from tenshot.evaluation.selftrain import UNLABELED

        check_probe(self.probe)
        rep = self.representation
        if isinstance(rep, (str, Path)):
            rep = Pretrainer.load(rep)
        elif isinstance(rep, Pretrainer) and not hasattr(rep, "model_"):
            rep = clone(rep).fit(X)  # unsupervised: y is not passed
        self.representation_ = rep
        feats = self._features(X, reset=True)
        if rep is not None:
            self.n_features_in_ = rep.n_features_in_
        if y is None:
            raise DataError("FewShotClassifier requires y to be passed, but the target y is None: call fit(X, y) with one label per example")
        try:
            y = column_or_1d(y.cpu().numpy() if isinstance(y, torch.Tensor) else y, warn=True)
            check_classification_targets(y)
        except ValueError as exc:
            raise DataError(str(exc)) from exc
        if len(y) != len(feats):
            raise DataError(f"{len(y)} labels for {len(feats)} examples; pass one label per example")
        # self-train learns from unlabeled rows too, marked -1 (scikit-learn's convention);
        # for every other probe -1 is an ordinary label (e.g. -1/+1 targets).
        semi = self.probe in SEMI_SUPERVISED_PROBES
        self.classes_, counts = np.unique(y[y != UNLABELED] if semi else y, return_counts=True)
        if len(self.classes_) < 2:
            raise DataError("y has only 1 class; a classifier needs at least two")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # CV judges weak-C candidates on accuracy
            self.estimator_ = make_probe(self.probe, int(counts.min()), self.seed).fit(feats, y)
        self.selection_ = describe_selection(self.estimator_)
        return self

    def _check_features(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        return self._features(X, reset=False)

    def predict(self, X: Any) -> np.ndarray:
        feats = self._check_features(X)
        return self.estimator_.predict(feats)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (N, n_classes); kNN gives neighbour vote shares, the SVM has none."""
        feats = self._check_features(X)
        if not hasattr(self.estimator_, "predict_proba") or self.probe == "svm":
            raise ConfigError("the svm probe gives no probabilities; use probe='linear', 'knn', 'lda' or 'self-train'")
        return self.estimator_.predict_proba(feats)

    def decision_function(self, X: Any) -> np.ndarray:
        feats = self._check_features(X)
        if self.probe == "knn":
            raise ConfigError("the knn probe has no decision function; use predict_proba")
        return self.estimator_.decision_function(feats)


class SemiSupervisedClassifier(ClassifierMixin, Pretrainer):
    """Train a semi-supervised method (``ssae``, ``ssvae``, ``ssgan``, ``s4l``) on images of which a
    few are labeled, then ``predict`` / ``predict_proba``; ``transform`` still gives features.

    ``fit(X, y)``: ``y`` has a label for the labeled images and ``-1`` for the unlabeled
    ones (scikit-learn's semi-supervised convention). Every image is used unlabeled; the
    labeled ones are repeated to fill each batch. Parameters as for ``Pretrainer``.
    """

    KINDS = ("semisup",)

    def configs(self):
        method_cls, method_config, train = super().configs()
        if hasattr(self, "classes_"):  # the head's size comes from the labels seen in fit
            method_config = dataclasses.replace(method_config, n_classes=len(self.classes_))
            method_config.validate()
        return method_cls, method_config, train

    def _check_method(self, method_cls: type[Method]) -> None:
        from tenshot.registry import METHODS

        if not getattr(method_cls, "needs_labels", False):
            semi = ", ".join(n for n, (c, _) in METHODS.items() if getattr(c, "needs_labels", False))
            raise ConfigError(
                f"{self.method} is not semi-supervised: use one of {semi} "
                f"(`tenshot pretrain {self.method}` trains it without labels)"
            )

    def fit(self, X: Any, y: Any, *, run_dir: str | Path | None = None, resume: bool = False) -> "SemiSupervisedClassifier":
        self.check()
        x = self._images(X, reset=True)
        if y is None:
            raise DataError("SemiSupervisedClassifier requires y: labels for the labeled images, -1 for the others")
        y = column_or_1d(y.cpu().numpy() if isinstance(y, torch.Tensor) else y)
        if len(y) != len(x):
            raise DataError(f"{len(y)} labels for {len(x)} images; use -1 for the unlabeled ones")
        mask = y != -1
        self.classes_ = np.unique(y[mask])
        if len(self.classes_) < 2:
            raise DataError(f"only {len(self.classes_)} labeled class(es); label a few images of at least two classes")
        y_idx = torch.as_tensor(np.searchsorted(self.classes_, y[mask]), dtype=torch.long)
        return self._fit(x, run_dir, resume, labeled=(x[torch.as_tensor(mask)], y_idx))

    def run_config(self, data: str | None = None) -> dict[str, Any]:
        return {**super().run_config(data), "classes": self.classes_.tolist()}

    def _restore(self, config: dict[str, Any]) -> None:
        self.classes_ = np.asarray(config["classes"])

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "model_")
        x = self._images(X, reset=False)
        model = self.model_.to(self._device())
        try:
            return torch.softmax(model.logits(x), dim=1).numpy()
        finally:
            self.model_ = model.cpu()

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(1)]


class SemiSupervisedEnsemble(ClassifierMixin, BaseEstimator):
    """A soft vote of semi-supervised classifiers trained on the same labels: each member
    is ``estimator`` with seed ``seed + k`` (its own initialisation, noise and batches),
    and ``predict_proba`` averages the members' class probabilities.

    Salimans et al. (2016) report their K+1 GAN both alone and as an ensemble of 10 of
    its models (CIFAR-10, 4000 labels: 18.6% -> 15.6% error). scikit-learn's
    ``VotingClassifier(voting="soft")`` averages the same way but label-encodes ``y``
    itself, so the ``-1`` of the unlabeled images would become a class.

    Parameters: ``estimator`` (an unfitted ``SemiSupervisedClassifier``; its parameters
    are kept but for the seed), ``n_members``.
    ``fit(X, y)`` trains the members one after another; ``tenshot semisup --members N
    --jobs J`` trains them J at a time in separate processes, and ``load`` reads that run.
    """

    KIND = "semisup-ensemble"

    def __init__(self, estimator: SemiSupervisedClassifier | None = None, n_members: int = 2) -> None:
        self.estimator = estimator
        self.n_members = n_members

    def member_params(self) -> list[dict[str, Any]]:
        """Each member's parameters: the estimator's, with seeds seed, seed + 1, ..."""
        if self.n_members < 1:
            raise ConfigError(f"an ensemble needs at least 1 member, got {self.n_members}")
        base = (self.estimator if self.estimator is not None else SemiSupervisedClassifier("ssgan")).get_params()
        return [{**base, "seed": base["seed"] + k} for k in range(self.n_members)]

    def fit(self, X: Any, y: Any) -> "SemiSupervisedEnsemble":
        members = [SemiSupervisedClassifier(**params).fit(X, y) for params in self.member_params()]
        return self._set_members(members)

    def _set_members(self, members: list[SemiSupervisedClassifier]) -> "SemiSupervisedEnsemble":
        classes = members[0].classes_
        for m in members[1:]:
            if not np.array_equal(m.classes_, classes):
                raise DataError(f"the members were trained on different classes ({classes.tolist()} and {m.classes_.tolist()}); "
                                "an ensemble's members need the same labels")
        self.estimators_ = members
        self.classes_ = classes
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "estimators_")
        return np.mean([m.predict_proba(X) for m in self.estimators_], axis=0)

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(1)]

    @classmethod
    def load(cls, path: str | Path) -> "SemiSupervisedEnsemble":
        """Load a run written by ``tenshot semisup --members N``: its members' run folders."""
        path = Path(path)
        config = io.read_run_config(path)
        if config.get("kind") != cls.KIND:
            raise CheckpointError(f"{path} is a {config.get('kind', 'pretrain')!r} run, not an ensemble; "
                                  "load it with SemiSupervisedClassifier.load or Pretrainer.load")
        names = config.get("members") or []
        if not names or any(not isinstance(n, str) or "/" in n or n.startswith(".") for n in names):
            raise CheckpointError(f"{path / io.CONFIG} has no valid member list; the run folder is damaged")
        members = [SemiSupervisedClassifier.load(path / name, method=config["method"]) for name in names]
        ens = cls(SemiSupervisedClassifier(**members[0].get_params()), n_members=len(members))
        return ens._set_members(members)
