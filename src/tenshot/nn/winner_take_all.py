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
    strength = h.flatten(2).amax(2) if h.dim() > 2 else h  # (N, C)
    keep = _lifetime_keep(strength, fraction).to(h.dtype)
    return h * keep.view(*keep.shape, *([1] * (h.dim() - 2)))


def _lifetime_keep(strength: torch.Tensor, fraction: float) -> torch.Tensor:
    """(N, C) strengths -> (N, C) bool: where each map is among its batch's
    ``ceil(fraction * N)`` largest (ties at the k-th value all kept)."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"lifetime fraction must be in (0, 1], got {fraction}")
    k = max(1, math.ceil(fraction * strength.shape[0]))
    threshold = strength.topk(k, dim=0).values[-1:]  # (1, C): the k-th largest per map
    return strength >= threshold


def winner_take_all(h: torch.Tensor, fraction: float) -> torch.Tensor:
    """Spatial, then lifetime sparsity: (N, C, H, W) -> (N, C, H, W), at most one
    activation per map and example, in about ``fraction`` of the examples."""
    return lifetime_winners(spatial_winners(h), fraction)


def winners(h: torch.Tensor, fraction: float) -> tuple[torch.Tensor, ...]:
    """The activations ``winner_take_all(h, fraction)`` keeps, as a list of points.

    h (N, C, H, W) -> (example, map, flat position, value), four (P,) tensors, one entry per
    surviving non-zero activation (at most one per example and map). ``value`` carries the
    gradient back to ``h``. Ties pick one position where ``spatial_winners`` keeps all of
    them, which with real-valued activations does not happen.
    """
    if h.dim() != 4:
        raise ValueError(f"winners needs feature maps (N, C, H, W), got {tuple(h.shape)}")
    peak, where = h.flatten(2).max(2)  # (N, C): spatial winner and its position
    keep = _lifetime_keep(peak.detach(), fraction) & (peak > 0)
    example, channel = torch.nonzero(keep, as_tuple=True)
    return example, channel, where[example, channel], peak[example, channel]


def paste_filters(
    points: tuple[torch.Tensor, ...], weight: torch.Tensor, bias: torch.Tensor | None, n: int, size: tuple[int, int]
) -> torch.Tensor:
    """A stride-1 ``conv_transpose2d(maps, weight, bias, padding=k // 2)`` of maps that are
    zero except at ``points`` (``winners``' output), computed from the points alone.

    After winner-take-all a map holds at most one activation per example, so the
    transposed conv -- the decoder -- only has to paste one scaled copy of each winning
    map's filter: P * k^2 multiply-adds instead of C * k^2 * H * W per example, which at
    256 maps is most of a training step's time on a CPU.

    weight (C, C_out, k, k) as ``nn.ConvTranspose2d`` stores it (k odd); returns
    (n, C_out, H, W) for ``size`` = (H, W).
    """
    example, channel, position, value = points
    c_out, k = weight.shape[1], weight.shape[-1]
    (height, width), r = size, k // 2
    padded = (height + 2 * r, width + 2 * r)
    # Top-left corner of each paste in the padded output is the winner's own (row, column).
    offsets = torch.arange(k, device=weight.device)
    rows = (position // width)[:, None] + offsets  # (P, k)
    cols = (position % width)[:, None] + offsets
    plane = (example[:, None] * c_out + torch.arange(c_out, device=weight.device)) * (padded[0] * padded[1])  # (P, C_out)
    index = plane[:, :, None, None] + rows[:, None, :, None] * padded[1] + cols[:, None, None, :]  # (P, C_out, k, k)
    patches = value[:, None, None, None] * weight[channel]  # (P, C_out, k, k)
    out = torch.zeros(n * c_out * padded[0] * padded[1], dtype=weight.dtype, device=weight.device)
    out = out.index_add(0, index.flatten(), patches.flatten()).view(n, c_out, *padded)
    out = out[:, :, r : r + height, r : r + width]
    return out if bias is None else out + bias.view(1, -1, 1, 1)
