"""Fixtures for the evaluation tests: sklearn digits as a Dataset, Gaussian blobs."""

from __future__ import annotations

import numpy as np
import pytest

from tenshot.data.dataset import Dataset
from tenshot.data.digits import load_digits


@pytest.fixture(scope="session")
def digits_ds() -> Dataset:
    """sklearn's 8x8 digits, (N, 1, 8, 8) in [0, 1], split 80/20 stratified with a fixed seed."""
    return load_digits()


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
