"""Winner-take-all sparsity (Makhzani & Frey 2015, "Winner-Take-All Autoencoders").

Two hard, parameter-free sparsity constraints on ReLU feature maps, applied only while
training an autoencoder (the encoder is used without them afterwards):

* spatial: in every feature map of every example, only the largest activation survives
  -- each map must explain the image with one placement of its filter;
* lifetime: across the minibatch, each map keeps only its ``fraction`` largest winners --
  no map can be on for every image, and every map with any positive activation gets
  some images of every batch to reconstruct (a map that is zero everywhere stays so).
"""

from __future__ import annotations

import math

import torch


def spatial_winners(h: torch.Tensor) -> torch.Tensor:
    """Keep each map's largest activation per example, zero the rest.

    h (N, C, H, W) -> (N, C, H, W) with at most one non-zero per (example, map); ties keep
    every maximal position (with real-valued activations they do not happen).
    """
    if h.dim() != 4:
        raise ValueError(f"spatial_winners needs feature maps (N, C, H, W), got {tuple(h.shape)}")
    peak = h.amax(dim=(2, 3), keepdim=True)
    return h * (h >= peak)


def lifetime_winners(h: torch.Tensor, fraction: float) -> torch.Tensor:
    """Keep, for each map (or unit), the examples of the batch where it is among the
    ``ceil(fraction * N)`` largest, zero it in the others.

    h (N, C, ...) -> same shape. A map's strength in an example is its peak over the
    positions (after ``spatial_winners``, the one activation left).
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"lifetime fraction must be in (0, 1], got {fraction}")
    n = h.shape[0]
    k = max(1, math.ceil(fraction * n))
    strength = h.flatten(2).amax(2) if h.dim() > 2 else h  # (N, C)
    threshold = strength.topk(k, dim=0).values[-1:]  # (1, C): the k-th largest per map
    keep = (strength >= threshold).to(h.dtype)
    return h * keep.view(*keep.shape, *([1] * (h.dim() - 2)))


def winner_take_all(h: torch.Tensor, fraction: float) -> torch.Tensor:
    """Spatial, then lifetime sparsity: (N, C, H, W) -> (N, C, H, W), at most one
    activation per map and example, in about ``fraction`` of the examples."""
    return lifetime_winners(spatial_winners(h), fraction)
