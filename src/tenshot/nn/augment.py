"""Random augmentations of an image batch, with kornia.

The pipeline works on a whole (N, C, H, W) batch in [0, 1], on the batch's device (CPU or
GPU), with new random parameters for every image; it holds no weights, so it is not in a
saved model. Randomness comes from torch's global generator: ``torch.manual_seed`` (or the
engine's seed) makes a run repeatable.

The defaults follow SimCLR (Chen et al. 2020, appendix A) scaled to small images: a random
resized crop, a horizontal flip, colour jitter of strength s (brightness, contrast,
saturation 0.8s, hue 0.2s) and random grayscale. A gray image has no colour to jitter, so it
gets brightness and contrast only. Blur is off by default: on 8x8 to 32x32 images a 3x3
Gaussian already wipes out most of the detail that tells images apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import kornia.augmentation as K
import torch
from torch import nn

from tenshot.config import Config, opt
from tenshot.errors import ConfigError


class Augmentation(nn.Module):
    """kornia's pipeline, with the output clamped to [0, 1] (interpolation overshoots by ~1e-7)."""

    def __init__(self, transforms: list[nn.Module]) -> None:
        super().__init__()
        # Identity when nothing is asked for: kornia's pipeline needs at least one transform.
        self.pipeline = K.AugmentationSequential(*transforms) if transforms else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) in [0, 1] -> (N, C, H, W) in [0, 1], on x's device."""
        return self.pipeline(x).clamp(0.0, 1.0)


def blur_kernel(height: int, width: int) -> int:
    """An odd kernel about a tenth of the image side (SimCLR), at least 3."""
    return max(3, (min(height, width) // 10) | 1)


def build_augmentation(
    in_shape: tuple[int, int, int],
    *,
    crop_scale: tuple[float, float] = (0.2, 1.0),
    rotate: float = 0.0,
    translate: float = 0.0,
    flip: bool = True,
    jitter: float = 0.5,
    jitter_p: float = 0.8,
    gray_p: float = 0.2,
    blur_p: float = 0.0,
) -> Augmentation:
    """A random augmentation of images shaped ``in_shape`` (C, H, W); see ``AugmentOptions``."""
    channels, height, width = in_shape
    rgb = channels == 3
    transforms: list[nn.Module] = []
    if tuple(crop_scale) != (1.0, 1.0):
        transforms.append(K.RandomResizedCrop((height, width), scale=tuple(crop_scale), ratio=(3 / 4, 4 / 3)))
    if rotate > 0 or translate > 0:
        transforms.append(K.RandomAffine(degrees=rotate, translate=(translate, translate), p=1.0))
    if flip:
        transforms.append(K.RandomHorizontalFlip(p=0.5))
    if jitter > 0 and jitter_p > 0:
        colour = 0.8 * jitter if rgb else 0.0  # saturation and hue mean nothing on one channel
        hue = min(0.2 * jitter, 0.5) if rgb else 0.0
        transforms.append(K.ColorJitter(0.8 * jitter, 0.8 * jitter, colour, hue, p=jitter_p))
    if rgb and gray_p > 0:
        transforms.append(K.RandomGrayscale(p=gray_p))
    if blur_p > 0:
        k = blur_kernel(height, width)
        transforms.append(K.RandomGaussianBlur((k, k), sigma=(0.1, 2.0), p=blur_p))
    return Augmentation(transforms)


def flip_and_shift(size: tuple[int, int], enabled: bool) -> nn.Module:
    """Random horizontal flips and shifts of up to 1/8 of the image (reflect-padded, so
    no black frame appears that the pretext net could key on); identity if not enabled.
    Flips and shifts leave every pretext label intact: rotations, patch positions and
    colours are defined after them."""
    if not enabled:
        return nn.Identity()
    pad = max(1, min(size) // 8)
    return K.AugmentationSequential(
        K.RandomHorizontalFlip(), K.RandomCrop(size, padding=pad, padding_mode="reflect"), data_keys=["input"]
    )


@dataclass
class AugmentOptions(Config):
    """Augmentation options, a config mixin for methods that train on augmented views."""

    crop_scale: tuple[float, ...] = opt(
        (0.2, 1.0), "random resized crop: min,max area kept, as a fraction of the image (1,1 = no crop)"
    )
    rotate: float = opt(0.0, "random rotation: up to this many degrees either way (0 = none)")
    translate: float = opt(0.0, "random shift: up to this fraction of the width/height either way (0 = none)")
    flip: bool = opt(True, "random horizontal flip (turn it off where left and right differ in meaning, e.g. digits)")
    jitter: float = opt(
        0.5, "colour jitter strength s: brightness and contrast 0.8s, on RGB also saturation 0.8s and hue 0.2s (0 = off)"
    )
    jitter_p: float = opt(0.8, "probability of applying the colour jitter to a view")
    gray_p: float = opt(0.2, "RGB only: probability of turning a view gray (so colour alone cannot solve the task)")
    blur_p: float = opt(0.0, "probability of a Gaussian blur (SimCLR uses 0.5 on ImageNet; small images lose too much)")

    def validate(self) -> None:
        super().validate()
        if len(self.crop_scale) != 2 or not 0.0 < self.crop_scale[0] <= self.crop_scale[1] <= 1.0:
            raise ConfigError(f"crop_scale must be two fractions 0 < min <= max <= 1, e.g. 0.2,1.0; got {self.crop_scale}")
        if not 0.0 <= self.rotate <= 180.0:
            raise ConfigError(f"rotate is in degrees, 0 to 180; got {self.rotate}")
        if not 0.0 <= self.translate < 1.0:
            raise ConfigError(f"translate is a fraction of the image size in [0, 1); got {self.translate}")
        if self.jitter < 0:
            raise ConfigError(f"jitter must be >= 0 (0 turns it off); got {self.jitter}")
        for name in ("jitter_p", "gray_p", "blur_p"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} is a probability in [0, 1]; got {getattr(self, name)}")

    def augmentation(self, in_shape: tuple[int, int, int]) -> Augmentation:
        return build_augmentation(
            in_shape, crop_scale=(self.crop_scale[0], self.crop_scale[1]), rotate=self.rotate, translate=self.translate,
            flip=self.flip, jitter=self.jitter, jitter_p=self.jitter_p, gray_p=self.gray_p, blur_p=self.blur_p,
        )
