"""Input corruptions for denoising autoencoders (Vincent et al. 2008/2010).

Pure functions on a batch in [0, 1]; the loss is always taken against the clean input.
"""

from __future__ import annotations

from typing import Literal

import torch

Noise = Literal["gaussian", "masking", "salt-and-pepper"]


def gaussian(x: torch.Tensor, level: float) -> torch.Tensor:
    """Additive isotropic Gaussian noise with std ``level``, clipped back to [0, 1]."""
    return (x + level * torch.randn_like(x)).clamp(0.0, 1.0)


def masking(x: torch.Tensor, level: float) -> torch.Tensor:
    """Set a random fraction ``level`` of the input components to 0."""
    keep = torch.rand_like(x) >= level
    return x * keep


def salt_and_pepper(x: torch.Tensor, level: float) -> torch.Tensor:
    """Set a random fraction ``level`` of the components to 0 or 1 (a fair coin each)."""
    hit = torch.rand_like(x) < level
    salt = (torch.rand_like(x) < 0.5).to(x.dtype)
    return torch.where(hit, salt, x)


CORRUPTIONS = {"gaussian": gaussian, "masking": masking, "salt-and-pepper": salt_and_pepper}


def corrupt(x: torch.Tensor, kind: Noise, level: float) -> torch.Tensor:
    return CORRUPTIONS[kind](x, level)
