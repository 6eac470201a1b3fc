"""Colorization (Zhang, Isola & Efros 2016, "Colorful image colorization").

The net sees only the lightness L of an RGB image (CIE Lab) and predicts its colour,
the ab channels, at every pixel. Colouring a gray picture right takes knowing what is
in it (sky is blue, grass green, a banana yellow), which is what the encoder has to learn.

As in the paper, colour is predicted as a class -- one of the in-gamut ab bins of a
10x10 grid -- with a cross-entropy: regressing ab with a squared error (``target=ab``,
also offered) averages the plausible colours of an object into gray. The decoder reads
the last conv block's map plus the global code broadcast over it (the fusion layer of
Iizuka et al. 2016): a pixel's colour depends on the whole scene, not only its patch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from kornia.color import lab_to_rgb, rgb_to_lab
from torch import nn

from tenshot.config import opt
from tenshot.errors import ConfigError
from tenshot.losses.pretext import ab_regression_loss, pretext_classification
from tenshot.methods.base import eval_mode
from tenshot.methods.pretext import PretextMethod, PretextOptions
from tenshot.nn.augment import flip_and_shift
from tenshot.nn import ConvDecoder

AB_RANGE = 110.0  # every sRGB colour has |a|, |b| < 110 in Lab (D65, as kornia converts)
ANNEALED_T = 0.38  # Zhang et al.'s temperature for turning bin probabilities into one colour


class ColourBins(nn.Module):
    """The in-gamut ab bins (Zhang et al. 2016, sec. 2.1): square cells of side
    ``bin_size`` centred on multiples of it (so gray, ab = (0, 0), is one cell's centre,
    not a corner where noise would scatter it), keeping the cells that some sRGB colour
    falls in. ``encode`` maps ab values to bin indices, ``decode`` back to bin centres."""

    def __init__(self, bin_size: int) -> None:
        super().__init__()
        self.bin_size = bin_size
        self.reach = math.ceil(AB_RANGE / bin_size)  # cells on each side of the gray one
        self.cells = 2 * self.reach + 1  # grid cells per axis
        # Every sRGB colour on a 64-level cube, converted: the cells they land in are the gamut.
        levels = torch.linspace(0, 1, 64)
        rgb = torch.cartesian_prod(levels, levels, levels).T.reshape(1, 3, -1, 1)
        used = self._cell(rgb_to_lab(rgb)[:, 1:]).unique()
        centres = self._centre(used)
        # cell -> nearest in-gamut bin: an ab just outside the sampled gamut still gets a bin.
        lookup = torch.cdist(self._centre(torch.arange(self.cells**2)), centres).argmin(1)
        # Derived from bin_size alone, so not saved with the weights (persistent=False).
        self.register_buffer("centres", centres, persistent=False)  # (Q, 2)
        self.register_buffer("lookup", lookup, persistent=False)  # (cells**2,)
        self.gray = int(self.encode(torch.zeros(1, 2, 1, 1)))  # the bin of ab = (0, 0): no colour

    def __len__(self) -> int:
        return len(self.centres)

    def _cell(self, ab: torch.Tensor) -> torch.Tensor:
        """ab (N, 2, H, W) -> grid cell index (N, H, W)."""
        idx = (torch.round(ab / self.bin_size).long() + self.reach).clamp(0, self.cells - 1)
        return idx[:, 0] * self.cells + idx[:, 1]

    def _centre(self, cell: torch.Tensor) -> torch.Tensor:
        """cell indices (M,) -> their centres' ab (M, 2)."""
        rows_cols = torch.stack([cell // self.cells, cell % self.cells], dim=1).float()
        return (rows_cols - self.reach) * self.bin_size

    def encode(self, ab: torch.Tensor) -> torch.Tensor:
        """ab (N, 2, H, W) -> bin index (N, H, W) in 0..Q-1."""
        return self.lookup[self._cell(ab)]

    def decode(self, index: torch.Tensor) -> torch.Tensor:
        """bin index (N, H, W) -> its centre's ab (N, 2, H, W)."""
        return self.centres[index].permute(0, 3, 1, 2)

    def annealed_mean(self, logits: torch.Tensor, temperature: float = ANNEALED_T) -> torch.Tensor:
        """Bin logits (N, Q, H, W) -> one ab per pixel (N, 2, H, W): the mean of the
        sharpened distribution, between the mode (patchy) and the mean (grayish)."""
        probs = torch.softmax(logits / temperature, dim=1)
        return torch.einsum("nqhw,qc->nchw", probs, self.centres)


@dataclass
class ColorizationConfig(PretextOptions):
    target: Literal["bins", "ab"] = opt(
        "bins", "bins: classify each pixel's colour into ab bins (vivid, the paper's choice); ab: regress ab (L2, grayish)"
    )
    bin_size: int = opt(10, "side of a square ab bin in Lab units (10: 261 in-gamut colours; larger: fewer, coarser)", positive=True)
    augment: bool = opt(True, "random flips and shifts of each batch (kornia)")


class Colorization(PretextMethod):
    """Colorization (Zhang et al. 2016): predict the colour (Lab ab bins) of RGB images from their lightness; RGB only."""

    Config = ColorizationConfig
    needs_rgb = True

    def __init__(self, config: ColorizationConfig, input_shape: tuple[int, int, int], train=None) -> None:
        super().__init__(config, input_shape, train)
        c, h, w = self.input_shape
        if c != 3:
            raise ConfigError(
                f"colorization needs RGB images (3 channels) to learn colour from, but this data has {c} channel"
                f"{'s' if c != 1 else ' (gray)'}; use RGB data (e.g. --data folder:DIR of colour images) "
                "or a method that works on gray images, such as rotation or context"
            )
        self.bins = ColourBins(config.bin_size)
        self.augment = flip_and_shift((h, w), config.augment)
        self.encoder = self.build_encoder((1, h, w))  # it sees lightness only
        # Colour is predicted at half the resolution (the paper: a quarter): colour varies
        # slowly, and it halves the compute. So one upsampling block fewer than the encoder
        # has (its top map is the encoder's last block), then a 1x1 conv per pixel.
        self.out_size = ((h + 1) // 2, (w + 1) // 2)
        self.decoder = ConvDecoder(
            (config.width, *self.out_size), config.latent_dim, 2 * config.width, config.n_blocks - 1, batch_norm=config.batch_norm
        )
        out_channels = len(self.bins) if config.target == "bins" else 2
        self.to_colour = nn.Sequential(nn.ReLU(), nn.Conv2d(config.width, out_channels, kernel_size=1))

    def encoder_input(self, x: torch.Tensor) -> torch.Tensor:
        """RGB (N, 3, H, W) in [0, 1] -> lightness (N, 1, H, W) in [0, 1]."""
        return rgb_to_lab(x)[:, :1] / 100.0

    def predict(self, lightness: torch.Tensor) -> torch.Tensor:
        """Lightness (N, 1, H, W) -> bin logits (N, Q, H', W') or ab / AB_RANGE (N, 2, H', W'),
        at half size: H' = ceil(H / 2)."""
        *blocks, code = self.encoder.features(lightness)
        # Fusion: the last block's local map plus the global code projected onto the same map.
        top = blocks[-1] + self.decoder.fc(code).view(-1, *self.decoder.top_shape)
        return self.to_colour(self.decoder.net(top))

    def losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.training:
            x = self.augment(x)
        lab = rgb_to_lab(x)
        ab = F.adaptive_avg_pool2d(lab[:, 1:], self.out_size)  # the colour of each 2x2 cell
        target = self.bins.encode(ab)  # (N, H', W'): its colour bin
        out = self.predict(lab[:, :1] / 100.0)
        if self.config.target == "bins":
            terms = pretext_classification(out, target)
        else:
            loss = ab_regression_loss(out, ab / AB_RANGE)
            right = self.bins.encode(out.detach() * AB_RANGE) == target
            terms = {"loss": loss, "pretext_acc": right.float().mean()}
        # The accuracy of answering "no colour" everywhere: pretext_acc must beat it.
        return {**terms, "gray_guess_acc": (target == self.bins.gray).float().mean()}

    @torch.no_grad()
    def colorize(self, x: torch.Tensor) -> torch.Tensor:
        """Images (N, 3, H, W) in [0, 1] -> the same images recoloured from their lightness alone."""
        with eval_mode(self):
            lightness = self.encoder_input(x)
            out = self.predict(lightness)
        ab = self.bins.annealed_mean(out) if self.config.target == "bins" else out * AB_RANGE
        ab = F.interpolate(ab, size=x.shape[2:], mode="bilinear", align_corners=False)
        return lab_to_rgb(torch.cat([lightness * 100.0, ab], dim=1)).clamp(0, 1)
