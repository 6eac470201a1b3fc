"""Context prediction (Doersch, Gupta & Efros 2015, "Unsupervised visual representation
learning by context prediction").

From each image a centre patch and one of its 8 neighbours on a 3x3 grid are cut; a
siamese encoder (one net, both patches) codes each, and a head on the two codes says
where the neighbour lies (8-way: chance is 12.5%). Knowing that the patch with a sleeve
sits left of the one with the collar takes knowing what shirts look like.

Two shortcuts are blocked as in the paper: a gap between patches (no continuing edge
or texture to match across the border) and a random jitter of the neighbour (its exact
offset does not give the position away).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from tenshot.config import opt
from tenshot.errors import ConfigError
from tenshot.losses.pretext import pretext_classification
from tenshot.methods.pretext import PretextMethod, PretextOptions, classifier_head

# The 8 neighbour positions (row, column offsets in grid cells), in label order: row by row.
NEIGHBOURS = torch.tensor([(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)])


@dataclass(frozen=True)
class PatchGrid:
    """A 3x3 grid of ``patch`` x ``patch`` cells, ``gap`` pixels apart; the neighbour is
    shifted by up to ``jitter`` pixels in each direction (``jitter < gap``: patches never touch)."""

    patch: int
    gap: int
    jitter: int

    @property
    def stride(self) -> int:
        """Pixels from one cell's top-left corner to the next one's."""
        return self.patch + self.gap

    @property
    def extent(self) -> int:
        """The smallest image side the grid fits in, jitter included."""
        return 3 * self.patch + 2 * self.gap + 2 * self.jitter


def default_gap(patch: int) -> int:
    return max(1, (patch + 2) // 4)  # about a quarter of the patch (28x28 images: 7-pixel patches, gap 2)


def default_jitter(gap: int) -> int:
    return gap // 2  # at most half the gap: a jittered neighbour still stays gap/2 away


def patch_grid(height: int, width: int, patch: int | None = None, gap: int | None = None, jitter: int | None = None) -> PatchGrid:
    """The grid for images of ``height`` x ``width``; options left ``None`` are chosen from
    the image size: the largest patch that fits with a gap of about patch/4 and a jitter
    of gap/2 (28x28 -> 7/2/1, 32x32 -> 8/2/1, 8x8 -> 2/1/0). Raises ConfigError if it cannot fit."""
    side = min(height, width)

    def grid(p: int) -> PatchGrid:
        g = default_gap(p) if gap is None else gap
        return PatchGrid(p, g, default_jitter(g) if jitter is None else jitter)

    if patch is None:
        fitting = [p for p in range(1, side + 1) if grid(p).extent <= side]
        if not fitting:
            raise ConfigError(
                f"images of {height}x{width} are too small for context prediction: a 3x3 grid of patches with "
                f"gap {grid(1).gap} and jitter {grid(1).jitter} needs at least {grid(1).extent} pixels a side; "
                "use larger images (or a smaller --gap / --jitter)"
            )
        chosen = grid(max(fitting))
    else:
        chosen = grid(patch)
    if chosen.jitter >= chosen.gap:
        raise ConfigError(
            f"jitter {chosen.jitter} must be smaller than gap {chosen.gap}, or the neighbour can touch the centre "
            "patch and the net matches edges instead of learning shapes; lower --jitter or raise --gap"
        )
    if chosen.extent > side:
        raise ConfigError(
            f"patch {chosen.patch}, gap {chosen.gap}, jitter {chosen.jitter} need {chosen.extent} pixels a side "
            f"(3 * patch + 2 * gap + 2 * jitter) but the images are {height}x{width}; lower --patch-size, --gap or --jitter"
        )
    return chosen


def sample_positions(
    n: int, height: int, width: int, grid: PatchGrid, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random patch pairs for ``n`` images: top-left corners (row, col) of the centre
    patch (n, 2) and of the neighbour (n, 2), and the neighbour's position label (n,) in 0..7.

    The whole grid is placed at random where it fits; drawn on the CPU, so the same seed
    gives the same patches on any device.
    """
    reach = grid.stride + grid.jitter  # how far the neighbour can reach past the centre patch
    low = torch.tensor([reach, reach])
    high = torch.tensor([height - grid.patch - reach, width - grid.patch - reach])  # inclusive
    centre = low + (torch.rand(n, 2, generator=generator) * (high - low + 1)).long()
    label = torch.randint(len(NEIGHBOURS), (n,), generator=generator)
    shift = torch.randint(-grid.jitter, grid.jitter + 1, (n, 2), generator=generator)
    neighbour = centre + NEIGHBOURS[label] * grid.stride + shift
    return centre, neighbour, label


def crop(x: torch.Tensor, image: torch.Tensor, corner: torch.Tensor, size: int) -> torch.Tensor:
    """Patches ``x[image[i], :, r:r+size, c:c+size]`` with (r, c) = ``corner[i]``, gathered
    in one indexing op: x (N, C, H, W), image (M,), corner (M, 2) -> (M, C, size, size)."""
    offsets = torch.arange(size, device=x.device)
    rows = corner[:, 0, None] + offsets  # (M, size)
    cols = corner[:, 1, None] + offsets
    patches = x[image[:, None, None], :, rows[:, :, None], cols[:, None, :]]  # (M, size, size, C)
    return patches.permute(0, 3, 1, 2)


@dataclass
class ContextConfig(PretextOptions):
    patch_size: int | None = opt(None, "side of each square patch; None = the largest that fits (7 for 28x28 images)", positive=True)
    gap: int | None = opt(None, "pixels between neighbouring patches; None = about patch/4", positive=True)
    jitter: int | None = opt(None, "random shift of the neighbour in pixels each way, below the gap; None = gap/2")
    pairs: int = opt(4, "patch pairs drawn from each image per step (patches are small: more pairs cost little)", positive=True)

    def validate(self) -> None:
        super().validate()
        if self.jitter is not None and self.jitter < 0:
            raise ConfigError(f"jitter must be >= 0, got {self.jitter}")


class Context(PretextMethod):
    """Context prediction (Doersch et al. 2015): the position of a patch next to a centre one (8-way); siamese conv encoder."""

    Config = ContextConfig

    def __init__(self, config: ContextConfig, input_shape: tuple[int, int, int], train=None) -> None:
        super().__init__(config, input_shape, train)
        c, h, w = self.input_shape
        self.layout = patch_grid(h, w, config.patch_size, config.gap, config.jitter)
        self.encoder = self.build_encoder((c, self.layout.patch, self.layout.patch))
        self.head = classifier_head(2 * config.latent_dim, config.latent_dim, len(NEIGHBOURS))

    def losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        n, _, h, w = x.shape
        image = torch.arange(n).repeat_interleave(self.config.pairs)  # each image gives `pairs` pairs
        centre, neighbour, label = sample_positions(len(image), h, w, self.layout)
        corners = torch.cat([centre, neighbour]).to(x.device)
        patches = crop(x, image.repeat(2).to(x.device), corners, self.layout.patch)  # (2M, C, p, p)
        codes = self.encoder(patches)  # siamese: one encoder, both patches
        pair = torch.cat(codes.chunk(2), dim=1)  # (M, 2 * latent_dim): centre code, then neighbour code
        return pretext_classification(self.head(pair), label.to(x.device))
