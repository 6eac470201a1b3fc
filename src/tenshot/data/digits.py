"""``digits``: scikit-learn's 8x8 handwritten digits (1797 images), always available."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import load_digits as _sk_digits
from sklearn.model_selection import train_test_split

from tenshot.data.dataset import Dataset

#: The fixed seed of the 80/20 stratified split, so every run sees the same test set.
SPLIT_SEED = 0


def load_digits() -> Dataset:
    d = _sk_digits()
    x = torch.from_numpy((d.images / 16.0).astype(np.float32)[:, None])  # 0..16 -> [0, 1], (N, 1, 8, 8)
    y = torch.from_numpy(d.target.astype(np.int64))
    tr, te = train_test_split(np.arange(len(x)), test_size=0.2, stratify=d.target, random_state=SPLIT_SEED)
    return Dataset("digits", x[tr], y[tr], x[te], y[te], [str(i) for i in range(10)])
