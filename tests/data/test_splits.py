"""The few-label sampler: exactly n per class, stratified, seeded, clear when short."""

from __future__ import annotations

import numpy as np
import pytest

from tenshot.data import few_label_indices, parse_labels_per_class
from tenshot.errors import ConfigError, DataError

Y = np.repeat(np.arange(4), [50, 30, 20, 12])


@pytest.mark.parametrize("n", [1, 5, 12])
def test_exactly_n_per_class(n):
    idx = few_label_indices(Y, n, seed=3)
    assert np.bincount(Y[idx]).tolist() == [n] * 4
    assert len(set(idx.tolist())) == len(idx) and (np.diff(idx) > 0).all()


def test_seeded_and_seed_dependent():
    a, b, c = (few_label_indices(Y, 5, seed=s) for s in (0, 0, 1))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_class_draw_independent_of_other_classes():
    # Dropping class 3 leaves the draw of classes 0..2 unchanged.
    full = few_label_indices(Y, 5, seed=0)
    part = few_label_indices(Y[Y < 3], 5, seed=0)
    assert np.array_equal(full[Y[full] < 3], part)


def test_all_and_too_many():
    assert np.array_equal(few_label_indices(Y, None, seed=0), np.arange(len(Y)))
    with pytest.raises(DataError, match="class 'd' has only 12 labeled examples; use --labels-per-class 12 or fewer"):
        few_label_indices(Y, 13, seed=0, classes=["a", "b", "c", "d"])


def test_parse_labels_per_class():
    assert parse_labels_per_class("1, 5,10,100,all") == [1, 5, 10, 100, None]
    for bad in ("0", "ten", "", "5,-1"):
        with pytest.raises(ConfigError, match="labels-per-class"):
            parse_labels_per_class(bad)
