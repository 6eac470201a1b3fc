"""Fixtures for the evaluation tests: sklearn digits as a Dataset, and a fallback for
``tenshot.data.splits`` while that module is being written (same contract)."""

from __future__ import annotations

import importlib.util
import sys
import types

import numpy as np
import pytest
import torch

from tenshot.data.dataset import Dataset
from tenshot.errors import DataError


def _fallback_few_label_indices(y, n_per_class, seed):
    """Sorted indices, exactly ``n_per_class`` of each class (all if None); DataError if short."""
    y = np.asarray(y)
    if n_per_class is None:
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    picked = []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        if len(members) < n_per_class:
            raise DataError(f"class {c} has {len(members)} labels, fewer than {n_per_class} asked")
        picked.append(rng.choice(members, n_per_class, replace=False))
    return np.sort(np.concatenate(picked))


if importlib.util.find_spec("tenshot.data.splits") is None:  # pragma: no cover - transitional
    _mod = types.ModuleType("tenshot.data.splits")
    _mod.few_label_indices = _fallback_few_label_indices
    sys.modules["tenshot.data.splits"] = _mod


@pytest.fixture(scope="session")
def digits_ds() -> Dataset:
    """sklearn's 8x8 digits, (N, 1, 8, 8) in [0, 1], split 80/20 stratified with a fixed seed."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[:, None]
    tr, te = train_test_split(np.arange(len(x)), test_size=0.2, stratify=d.target, random_state=0)
    t = torch.from_numpy
    return Dataset(
        "digits", t(x[tr]), t(d.target[tr].astype(np.int64)), t(x[te]), t(d.target[te].astype(np.int64)),
        [str(i) for i in range(10)],
    )


def gaussian_blobs(n_per_class: int, n_classes: int = 3, dim: int = 16, spread: float = 1.0, seed: int = 0):
    """(X (n, dim) float, y (n,) int): isotropic Gaussians around random centres."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3.0, size=(n_classes, dim))
    y = np.repeat(np.arange(n_classes), n_per_class)
    x = centres[y] + rng.normal(0, spread, size=(len(y), dim))
    return x.astype(np.float32), y


@pytest.fixture
def make_blobs():
    """The ``gaussian_blobs`` factory, as a fixture (test dirs are not packages)."""
    return gaussian_blobs
