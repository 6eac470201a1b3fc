"""The small base of the pretext-task methods (rotation, context, colorization).

Each trains a conv encoder on a labelling task made up from the images themselves;
what they share is here: the encoder options, the features (conv blocks' activations
max-pooled to a grid, never the code: the layers next to the pretext head specialise in
the pretext task, Gidaris et al. 2018 sec. 3.2), the batch augmentation
(kornia, on the tensor batch, so it runs where the batch is: CPU or GPU), the
classifier head, and the held-out pretext accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from tenshot.config import Config, opt
from tenshot.errors import ConfigError
from tenshot.methods.base import Method, held_out_pretext_accuracy
from tenshot.nn import ConvEncoder, pooled_features

@dataclass
class PretextOptions(Config):
    """The encoder and the features of every pretext method."""

    width: int = opt(32, "channels of the first conv block (doubled in each next one)", positive=True)
    n_blocks: int = opt(3, "number of stride-2 conv blocks", positive=True)
    depth: int = opt(1, "3x3 convs per block: its stride-2 conv and depth - 1 more at the same resolution", positive=True)
    latent_dim: int = opt(256, "size of the code: the fully connected layer the pretext head reads", positive=True)
    batch_norm: bool = opt(True, "batch norm after each conv block but the first (on raw pixels it would only rescale them)")
    # 0 by measurement: on Fashion-MNIST (5 epochs, 20k images, linear probe, 10 labels per
    # class) all blocks together probed as well as the best single block (rotation: the last,
    # context: the middle one) and 1-5 points better than the others.
    feature_block: int = opt(
        0, "transform: 0 = every conv block, each max-pooled to grid x grid, concatenated; k = block k alone (1 = first)"
    )
    grid: int = opt(4, "transform: side of the max-pooling grid of a block's map", positive=True)

    def validate(self) -> None:
        super().validate()
        if not 0 <= self.feature_block <= self.n_blocks:
            raise ConfigError(
                f"feature_block={self.feature_block} but the encoder has {self.n_blocks} blocks; "
                f"choose 1..{self.n_blocks}, or 0 for all of them"
            )


def classifier_head(in_dim: int, hidden: int, n_classes: int) -> nn.Sequential:
    """A small MLP from codes (N, in_dim) to pretext logits (N, n_classes)."""
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, n_classes))


class PretextMethod(Method):
    """Base: ``self.encoder`` (a ConvEncoder) and the features every pretext method shares.

    Subclasses build ``self.encoder`` with ``build_encoder`` and implement ``losses``
    returning at least ``loss`` and ``pretext_acc``; ``encoder_input`` maps images to what
    the encoder sees (colorization: their lightness).
    """

    config: PretextOptions

    def build_encoder(self, in_shape: tuple[int, int, int]) -> ConvEncoder:
        c = self.config
        # ReLU on the code: it is a hidden layer of the pretext classifier, not an output.
        return ConvEncoder(
            in_shape, c.latent_dim, c.width, c.n_blocks, code_activation="relu", batch_norm=c.batch_norm, depth=c.depth
        )

    def encoder_input(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, channels of the block * grid**2), or all blocks for feature_block=0.

        Conv blocks only, not the code: they work at any image size, so context's encoder,
        trained on small patches, is applied to whole images."""
        k = self.config.feature_block
        h, maps = self.encoder_input(x), []
        for block in self.encoder.blocks[: k or None]:  # no further than the block asked for
            h = block(h)
            maps.append(h)
        return pooled_features(maps if k == 0 else maps[-1:], self.config.grid)

    def test_metrics(self, x: torch.Tensor) -> dict[str, float]:
        return held_out_pretext_accuracy(self, x, batch_size=256)
