"""``npz:FILE``: numpy arrays ``x`` and optional ``y``, ``x_test``, ``y_test``.

Loaded with ``allow_pickle=False``: an npz holding Python objects is refused rather
than unpickled (a data file must never run code).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from tenshot.data.dataset import Dataset
from tenshot.data.validate import as_images, as_labels, check_same_shape, encode_labels
from tenshot.errors import DataError


def load_npz(path: Path) -> Dataset:
    if not path.is_file():
        raise DataError(f"npz file {path} does not exist; check the path after 'npz:'")
    if not zipfile.is_zipfile(path):
        raise DataError(f"{path}: not a readable .npz file (not a zip archive); write it with np.savez")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except ValueError as e:  # object arrays need pickle
        raise DataError(f"{path}: holds Python objects ({e}); save plain numeric arrays with np.savez") from e
    except (OSError, zipfile.BadZipFile, EOFError) as e:
        raise DataError(f"{path}: not a readable .npz file ({e}); write it with np.savez") from e
    if "x" not in arrays:
        raise DataError(f"{path}: no array named 'x' (found {sorted(arrays) or 'none'}); save images as x=...")
    x = as_images(arrays["x"], f"{path}[x]")
    y = as_labels(arrays["y"], len(x), f"{path}[y]") if "y" in arrays else None
    x_test = as_images(arrays["x_test"], f"{path}[x_test]") if "x_test" in arrays else None
    y_te = None
    if "y_test" in arrays:
        if x_test is None:
            raise DataError(f"{path}: has y_test but no x_test; save both or neither")
        y_te = as_labels(arrays["y_test"], len(x_test), f"{path}[y_test]")
    check_same_shape(x, x_test, str(path))
    (y_train, y_test), classes = encode_labels(y, y_te)
    return Dataset(path.stem, x, y_train, x_test, y_test, classes)
