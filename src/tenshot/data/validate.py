"""Checks that turn arrays from any source into a valid ``Dataset`` or a clear ``DataError``.

Every loader funnels through here, so "NaN in an npz" and "a PNG of another size" get the
same wording wherever they come from. Messages name the file and say how to fix it.
"""

from __future__ import annotations

import numpy as np
import torch

from tenshot.errors import DataError


def as_images(x: np.ndarray, where: str) -> torch.Tensor:
    """Images in any common layout -> float32 tensor (N, C, H, W) in [0, 1].

    Accepts (N, D) (vectors: shape (N, 1, 1, D)), (N, H, W) (gray), (N, H, W, C) with
    C in {1, 3, 4} (channels last, as PIL/numpy give them) and (N, C, H, W). uint8 and
    integer values are divided by 255; float values must already lie in [0, 1] (or in
    [0, 255], which is rescaled: both are common encodings of 8-bit images).
    """
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise DataError(f"{where}: images have dtype {x.dtype}; store them as numbers (uint8 or float)")
    if x.ndim < 2 or len(x) == 0:
        raise DataError(f"{where}: no images (array shape {x.shape}); the dataset is empty")
    if x.ndim == 2:
        x = x[:, None, None, :]
    elif x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4:
        if x.shape[-1] in (1, 3, 4) and x.shape[1] not in (1, 3, 4):
            x = x.transpose(0, 3, 1, 2)  # channels last -> channels first
    else:
        raise DataError(f"{where}: images have shape {x.shape}; expected (N, H, W), (N, H, W, C) or (N, D)")
    if x.dtype.kind == "f":
        if not np.isfinite(x).all():
            bad = int((~np.isfinite(x)).reshape(len(x), -1).any(1).sum())
            raise DataError(f"{where}: {bad} image(s) contain NaN or Inf values; clean or drop them first")
        lo, hi = float(x.min()), float(x.max())
        if lo < 0.0 or hi > 255.0:
            raise DataError(f"{where}: pixel values span [{lo:.3g}, {hi:.3g}]; rescale them to [0, 1] (or 0..255)")
        x = x.astype(np.float32) / (255.0 if hi > 1.0 else 1.0)
    else:
        if x.min() < 0 or x.max() > 255:
            raise DataError(f"{where}: integer pixels outside 0..255; store 8-bit images or floats in [0, 1]")
        x = x.astype(np.float32) / 255.0
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


def as_labels(y: np.ndarray, n_images: int, where: str) -> np.ndarray:
    """A 1-D label array, one per image (any integer or string labels)."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(f"{where}: labels have shape {y.shape}; expected one label per image, shape ({n_images},)")
    if len(y) != n_images:
        raise DataError(f"{where}: {len(y)} labels for {n_images} images; there must be exactly one label per image")
    if y.dtype.kind == "f":
        if not np.isfinite(y).all() or (y != np.round(y)).any():
            raise DataError(f"{where}: labels must be whole numbers or strings, found NaN or fractional values")
        y = y.astype(np.int64)
    elif y.dtype.kind not in "biuUS":
        raise DataError(f"{where}: labels have dtype {y.dtype}; use integers or strings")
    return y


def encode_labels(*ys: np.ndarray | None) -> tuple[list[torch.Tensor | None], list[str]]:
    """Map raw labels of several splits to 0..K-1 with one shared class list.

    Returns the encoded int64 tensors (``None`` stays ``None``) and the class names,
    sorted (numbers numerically, strings alphabetically).
    """
    present = [y for y in ys if y is not None]
    if not present:
        return [None] * len(ys), []
    classes = np.unique(np.concatenate(present))
    out: list[torch.Tensor | None] = []
    for y in ys:
        out.append(None if y is None else torch.from_numpy(np.searchsorted(classes, y).astype(np.int64)))
    return out, [str(c) for c in classes.tolist()]


def check_same_shape(x_train: torch.Tensor, x_test: torch.Tensor | None, where: str) -> None:
    if x_test is not None and x_test.shape[1:] != x_train.shape[1:]:
        raise DataError(
            f"{where}: test images have shape {tuple(x_test.shape[1:])} but train images "
            f"{tuple(x_train.shape[1:])}; both splits must share one image size"
        )
