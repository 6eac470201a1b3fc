"""``folder:DIR``: a folder of PNG/JPEG images, read with Pillow.

Layouts (first that applies):

* ``DIR/train/<class>/*`` and ``DIR/test/<class>/*`` -- labeled, with a test split;
* ``DIR/<class>/*`` -- labeled, no test split;
* ``DIR/*.png`` -- unlabeled (pretraining data only).

Images keep their mode if all are gray (1 channel), else all become RGB (3 channels),
so a folder mixing modes still loads; sizes must agree (resize them first).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from tenshot.data.dataset import Dataset
from tenshot.data.validate import as_images, check_same_shape, encode_labels
from tenshot.errors import DataError

SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)


def _read(paths: list[Path]) -> torch.Tensor:
    """Images -> (N, C, H, W) in [0, 1]; a DataError names the first bad file."""
    pics = []
    for p in paths:
        try:
            with Image.open(p) as im:
                im.load()  # decode now: a truncated file fails here, not later
                pics.append(im.copy())
        except (UnidentifiedImageError, OSError, SyntaxError) as e:
            raise DataError(f"{p}: cannot read this image ({e}); remove or replace the file") from e
    gray = all(im.mode in ("1", "L", "I", "I;16", "F") for im in pics)
    arrays = [np.asarray(im.convert("L" if gray else "RGB")) for im in pics]
    first = arrays[0].shape
    for p, a in zip(paths, arrays):
        if a.shape != first:
            raise DataError(
                f"{p}: image size {a.shape[1]}x{a.shape[0]} differs from {paths[0].name}'s "
                f"{first[1]}x{first[0]}; resize all images to one size first"
            )
    stacked = np.stack(arrays)  # (N, H, W) gray or (N, H, W, 3) RGB
    return as_images(stacked if gray else stacked.transpose(0, 3, 1, 2), str(paths[0].parent))


def _labeled(folder: Path) -> tuple[torch.Tensor, np.ndarray]:
    xs, ys = [], []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        files = _image_files(sub)
        xs += files
        ys += [sub.name] * len(files)
    if not xs:
        raise DataError(f"{folder}: no images (PNG/JPEG) in its class subfolders")
    return _read(xs), np.array(ys)


def load_folder(folder: Path) -> Dataset:
    if not folder.is_dir():
        raise DataError(f"data folder {folder} does not exist; check the path after 'folder:'")
    name = folder.name
    if (folder / "train").is_dir() and (folder / "test").is_dir():
        x_train, y_tr = _labeled(folder / "train")
        x_test, y_te = _labeled(folder / "test")
        check_same_shape(x_train, x_test, str(folder))
        (y_train, y_test), classes = encode_labels(y_tr, y_te)
        return Dataset(name, x_train, y_train, x_test, y_test, classes)
    if any(p.is_dir() for p in folder.iterdir()):
        x, y = _labeled(folder)
        (y_train,), classes = encode_labels(y)
        return Dataset(name, x, y_train, classes=classes)
    files = _image_files(folder)
    if not files:
        raise DataError(f"{folder}: no images found; put PNG/JPEG files in it (or class subfolders)")
    return Dataset(name, _read(files))
