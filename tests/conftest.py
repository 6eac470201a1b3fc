"""Shared fixtures: tiny datasets and an isolated environment (no ~/.cache writes)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tenshot.data.dataset import Dataset

torch.set_num_threads(1)  # tiny models: threads only add overhead (and xdist runs 2 workers)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("TENSHOT_DATA", str(home / "data"))


def blobs(n_per_class: int = 30, classes: int = 3, shape=(1, 8, 8), seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Images in [0, 1] whose class is a bright patch position: learnable in a few steps."""
    rng = np.random.default_rng(seed)
    c, h, w = shape
    x = rng.uniform(0, 0.2, size=(n_per_class * classes, c, h, w)).astype(np.float32)
    y = np.repeat(np.arange(classes), n_per_class)
    for i, label in enumerate(y):
        r = (label * h) // classes
        x[i, :, r : r + max(1, h // classes), :] += 0.7
    perm = rng.permutation(len(y))
    return torch.from_numpy(x[perm].clip(0, 1)), torch.from_numpy(y[perm].astype(np.int64))


@pytest.fixture(scope="session")
def blob_images():
    """The ``blobs`` factory as a fixture (test folders are not packages, so not importable)."""
    return blobs


@pytest.fixture
def tiny_ds() -> Dataset:
    x, y = blobs(30, 3)
    xt, yt = blobs(10, 3, seed=1)
    return Dataset("blobs", x, y, xt, yt, ["a", "b", "c"])


@pytest.fixture
def tiny_npz(tmp_path) -> str:
    """An npz data spec with train/test images and labels (what the CLI tests use)."""
    x, y = blobs(20, 3, shape=(1, 8, 8))
    xt, yt = blobs(8, 3, shape=(1, 8, 8), seed=1)
    path = tmp_path / "tiny.npz"
    np.savez(path, x=x[:, 0].numpy(), y=y.numpy(), x_test=xt[:, 0].numpy(), y_test=yt.numpy())
    return f"npz:{path}"


@pytest.fixture(scope="session")
def rgb_patches_folder(tmp_path_factory):
    """A ``folder:DIR`` tree of labeled RGB images, made from the two photographs that
    scikit-learn ships (china.jpg, flower.jpg; no download): each is cut into 32x32
    patches, labeled by photo x quadrant (8 classes, 60 patches each); a quarter of each
    class (a diagonal pattern) goes to test/. Returns the folder (a Path)."""
    from pathlib import Path

    from PIL import Image
    from sklearn.datasets import load_sample_images

    root = tmp_path_factory.mktemp("rgb_patches")
    size, rows, cols = 32, 12, 20  # 12 x 20 patches of each 427x640 photo
    photos = load_sample_images()
    for photo, path in zip(photos.images, photos.filenames):
        name = Path(path).stem  # china, flower
        for r in range(rows):
            for c in range(cols):
                label = f"{name}-{'top' if r < rows // 2 else 'bottom'}-{'left' if c < cols // 2 else 'right'}"
                split = "test" if (r + c) % 4 == 0 else "train"  # a diagonal pattern: ~1/4 of each class
                folder = root / split / label
                folder.mkdir(parents=True, exist_ok=True)
                patch = photo[r * size : (r + 1) * size, c * size : (c + 1) * size]
                Image.fromarray(patch).save(folder / f"{r:02d}-{c:02d}.png")
    return root
