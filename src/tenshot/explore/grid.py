"""Image grids, and the nearest training image of each sample (the memorisation check
of Goodfellow et al. 2014's figures: a generator that copies its data shows twins)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from tenshot.io import atomic_path


@torch.no_grad()
def nearest_images(samples: torch.Tensor, pool: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    """For each sample (n, C, H, W), the pool image (N, C, H, W) nearest in pixel L2."""
    flat = samples.flatten(1)
    best_d = torch.full((len(flat),), float("inf"))
    best_i = torch.zeros(len(flat), dtype=torch.long)
    for start in range(0, len(pool), chunk):
        d = torch.cdist(flat, pool[start : start + chunk].flatten(1))
        m, i = d.min(1)
        better = m < best_d
        best_d[better], best_i[better] = m[better], i[better] + start
    return pool[best_i]


def grid(images: torch.Tensor, ncol: int, pad: int = 2) -> np.ndarray:
    """(N, C, H, W) in [0, 1] -> one uint8 image (rows x cols of tiles), gray or RGB."""
    n, c, h, w = images.shape
    nrow = -(-n // ncol)
    canvas = np.ones((nrow * (h + pad) + pad, ncol * (w + pad) + pad, c), np.float32)
    tiles = images.clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy()
    for k in range(n):
        r, col = divmod(k, ncol)
        canvas[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + col * (w + pad) : pad + col * (w + pad) + w] = tiles[k]
    out = (canvas * 255).round().astype(np.uint8)
    return out[..., 0] if c == 1 else out


def save_grid(path: str | Path, images: torch.Tensor, ncol: int | None = None, scale: int = 1) -> Path:
    """Write ``images`` as a PNG grid (nearest-neighbour upscaled ``scale`` times), atomically."""
    path = Path(path)
    ncol = ncol or max(1, int(np.ceil(np.sqrt(len(images)))))
    im = Image.fromarray(grid(images, ncol))
    if scale > 1:
        im = im.resize((im.width * scale, im.height * scale), Image.NEAREST)
    with atomic_path(path) as tmp:
        im.save(tmp, format="PNG")
    return path


def interleave(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """[a0, b0, a1, b1, ...]: a sample beside its nearest training image."""
    return torch.stack([a, b], 1).flatten(0, 1)
