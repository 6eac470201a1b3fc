"""Grids and the nearest-training-image check."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from tenshot.explore import grid, interleave, nearest_images, save_grid


def test_nearest_images_finds_the_twin():
    pool = torch.rand(50, 1, 6, 6)
    samples = pool[[3, 41, 7]] + 0.01 * torch.randn(3, 1, 6, 6)
    assert torch.equal(nearest_images(samples, pool, chunk=8), pool[[3, 41, 7]])


def test_grid_layout_and_png(tmp_path):
    imgs = torch.zeros(5, 3, 4, 4)
    imgs[1] = 1.0
    g = grid(imgs, ncol=3, pad=1)
    assert g.shape == (2 * 5 + 1, 3 * 5 + 1, 3) and g.dtype == np.uint8
    assert (g[1:5, 6:10] == 255).all() and (g[1:5, 1:5] == 0).all()
    out = save_grid(tmp_path / "g.png", torch.rand(4, 1, 4, 4), scale=2)
    assert Image.open(out).size == (2 * (2 * 6 + 2), 2 * (2 * 6 + 2))
    a, b = torch.zeros(2, 1, 2, 2), torch.ones(2, 1, 2, 2)
    assert interleave(a, b)[:, 0, 0, 0].tolist() == [0, 1, 0, 1]
