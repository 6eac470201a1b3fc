"""Semi-supervised learners as sources of the label-efficiency protocol.

For every split the protocol hands over, the learner (``ssgan``, ``ssae``, ``ssvae``) is
trained on the split's labeled images plus unlabeled train images, and its own classifier
predicts the test images. So it stands in one table with the probes and the supervised
net, on the very same labeled indices, and the protocol reads the test labels once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from tenshot.data.dataset import Dataset


@dataclass
class SemiSupervisedSource:
    """``method`` trained with ``params`` (any ``SemiSupervisedClassifier`` parameter) on
    the labeled split plus unlabeled train images, ``n_unlabeled`` in all (None: every one;
    the extra ones drawn with ``pool_seed``, the same for every split)."""

    method: str
    params: dict[str, Any] = field(default_factory=dict)
    n_unlabeled: int | None = None
    pool_seed: int = 0
    name: str = ""
    probes: tuple[str, ...] = ("own",)  # its classifier is the probe

    def __post_init__(self) -> None:
        self.name = self.name or self.method

    def prepare(self, ds: Dataset) -> None:
        self._x_train, self._x_test = ds.x_train, ds.x_test

    def pool(self, train_idx: np.ndarray) -> np.ndarray:
        """Sorted train indices the learner sees: the labeled ones plus a seeded draw of
        the others, ``n_unlabeled`` in all."""
        n = len(self._x_train)
        rest = np.setdiff1d(np.arange(n), train_idx)
        if self.n_unlabeled is not None and self.n_unlabeled < n:
            extra = max(0, self.n_unlabeled - len(train_idx))
            rest = np.random.default_rng(self.pool_seed).choice(rest, extra, replace=False)
        return np.sort(np.concatenate([train_idx, rest]))

    def predict(self, train_idx: np.ndarray, y_labeled: np.ndarray, probe: str, seed: int) -> tuple[np.ndarray, dict]:
        from tenshot.api import SemiSupervisedClassifier  # api imports evaluation

        keep = self.pool(np.asarray(train_idx))
        y = np.full(len(keep), -1)
        y[np.searchsorted(keep, train_idx)] = y_labeled
        clf = SemiSupervisedClassifier(self.method, **self.params)
        start = time.perf_counter()
        clf.fit(self._x_train[torch.as_tensor(keep)], y)
        seconds = time.perf_counter() - start
        return clf.predict(self._x_test), {"n_images": len(keep), "train_seconds": round(seconds, 1)}
