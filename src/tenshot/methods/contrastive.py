"""The contrastive family's small base: an encoder learns from random views of images.

A method of the family scores a pretext task on augmented views -- "which of these is the
other view of my image?" (SimCLR), "which seed image is this a transformation of?"
(Exemplar-CNN) -- and implements only ``head`` and ``objective``. The base owns the rest:
the encoder, the kornia augmentation (on the batch's device), what ``encode`` returns, and
the pretext accuracy logged next to the loss, so a user sees that the task was learned.

A new member (BYOL, SimSiam) is one more file: a config, a head and an objective that
returns its loss with the scores its accuracy is read from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

import torch
from torch import nn

from tenshot.config import opt
from tenshot.errors import ConfigError
from tenshot.losses.pretext import top1_accuracy
from tenshot.methods.autoencoder import EncoderOptions
from tenshot.methods.base import Method, held_out_pretext_accuracy
from tenshot.nn.augment import AugmentOptions
from tenshot.nn.encoders import build_encoder, pooled_features

@dataclass
class ContrastiveConfig(EncoderOptions, AugmentOptions):
    batch_norm: bool = opt(False, "conv: batch norm after every conv but the first (SimCLR's ResNet has it)")
    depth: int = opt(
        1, "conv: 3x3 convs per block: its stride-2 conv and depth - 1 more at the same resolution", positive=True
    )
    features: Literal["layers", "code"] = opt(
        "layers", "what transform returns: 'code' (the representation under the head), or 'layers' = "
        "every block max-pooled to 4x4 plus the code"
    )

    def validate(self) -> None:
        super().validate()
        if self.encoder == "mlp" and (self.batch_norm or self.depth != 1):
            raise ConfigError("batch_norm and depth shape the conv encoder; use --encoder conv, or drop them with mlp")


class Pretext(NamedTuple):
    """What an objective returns: the loss to minimise, and the scores it is judged on."""

    loss: torch.Tensor  # scalar
    logits: torch.Tensor  # (B, K): a score for each of the K candidates of B pretext questions
    targets: torch.Tensor  # (B,): the index of the right candidate


def projection_mlp(in_dim: int, hidden: int, out_dim: int) -> nn.Sequential:
    """SimCLR's projection head g: Linear -> ReLU -> Linear. The loss is taken on g(h), and
    the representation is h, under it: g is free to drop what the task does not need (colour,
    position), which h keeps for the probes (Chen et al. 2020, sec. 4.2)."""
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, out_dim))


class ContrastiveMethod(Method):
    """Base of the contrastive family: encoder + head trained on augmented views."""

    Config = ContrastiveConfig

    def __init__(self, config: ContrastiveConfig, input_shape: tuple[int, int, int], train=None) -> None:
        super().__init__(config, input_shape, train)
        # A linear code. SimCLR's h is a ReLU output, but its ResNet has batch norm to keep
        # units alive; here a ReLU code can die unit by unit until every view maps to one
        # point (the loss then sits at log(2N - 1)), which happened at lr 1e-2 on 8x8 images.
        self.encoder = build_encoder(
            config.encoder,
            self.input_shape,
            config.latent_dim,
            batch_norm=config.batch_norm,
            depth=config.depth,
            **config.arch(),
        )
        self.head = self.build_head(config)
        self.augmentation = config.augmentation(self.input_shape)  # holds no weights

    # --- what a member defines -----------------------------------------------------------
    def build_head(self, config: ContrastiveConfig) -> nn.Module:
        """The module on top of the code that the pretext task is scored with."""
        raise NotImplementedError

    def objective(self, x: torch.Tensor) -> Pretext:
        """The pretext task on a batch of images x (N, C, H, W)."""
        raise NotImplementedError

    # --- shared ----------------------------------------------------------------------------
    def view(self, x: torch.Tensor) -> torch.Tensor:
        """A random view of every image: (N, C, H, W) -> (N, C, H, W), on x's device."""
        with torch.no_grad():  # augmentation has no weights; nothing to differentiate
            return self.augmentation(x)

    def project(self, x: torch.Tensor) -> torch.Tensor:
        """Images -> head outputs (N, head size)."""
        return self.head(self.encoder(x))

    def losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        pretext = self.objective(x)
        return {"loss": pretext.loss, "pretext_acc": top1_accuracy(pretext.logits, pretext.targets)}

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        feats = self.encoder.features(x)
        return pooled_features(feats) if self.config.features == "layers" else feats[-1]

    def test_metrics(self, x: torch.Tensor) -> dict[str, float]:
        # In batches of the training size: the chance level of "find the twin" depends on it.
        return held_out_pretext_accuracy(self, x, self.train_config.batch_size)
