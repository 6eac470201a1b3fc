"""Reconstruction losses: summed over the pixels of an example, averaged over the batch
(so penalty weights mean the same thing at every image size and batch size)."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

Reconstruction = Literal["bce", "mse", "linear-mse"]


def reconstruction_loss(logits: torch.Tensor, target: torch.Tensor, kind: Reconstruction = "bce") -> torch.Tensor:
    """logits, target: (N, ...) with target in [0, 1] -> scalar.

    ``bce``: Bernoulli likelihood of each pixel (works for gray levels too: the
    cross-entropy against a soft target). ``mse``: squared error of sigmoid(logits).
    ``linear-mse``: squared error of the output itself, for linear decoders (the
    winner-take-all autoencoder's: each winner adds one copy of its filter to the image).
    """
    if logits.shape != target.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and target {tuple(target.shape)} must have the same shape")
    if kind == "bce":
        per_pixel = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    elif kind in ("mse", "linear-mse"):
        per_pixel = ((torch.sigmoid(logits) if kind == "mse" else logits) - target) ** 2
    else:
        raise ValueError(f"unknown reconstruction loss {kind!r}: choose bce, mse or linear-mse")
    return per_pixel.flatten(1).sum(1).mean()
