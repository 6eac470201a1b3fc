"""S4L-Rotation (Zhai, Oliver, Kolesnikov & Beyer 2019, "S4L: Self-Supervised
Semi-Supervised Learning"): rotation prediction on every image and classification of the
labeled ones, by one encoder at once.

The self-supervised task keeps the encoder general where a hundred labels alone would
let it memorise them; the labels point its code at the classes instead of at whatever
tells the turns apart. A batch is ``(x, x_labeled, y_labeled)``: the rotation loss on the
four turns of ``x`` plus ``classifier_weight`` times the cross-entropy of a linear head
on the labeled images' code, the labeled images flipped and shifted like ``x`` (the
paper augments both). ``transform`` gives the pooled conv blocks of rotation, so the
encoder's features can go on to a probe or to the K+1 GAN (``tenshot features``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from tenshot.methods.rotation import Rotation, RotationConfig, centre_square
from tenshot.methods.ssae import ClassifierOptions, JointClassifier


@dataclass
class S4LConfig(ClassifierOptions, RotationConfig):
    pass


class S4LRotation(JointClassifier, Rotation):
    """S4L-Rotation: rotation prediction on all images + classification of the labeled ones, one encoder."""

    Config = S4LConfig
    class_head_name = "class_head"  # rotation's pretext classifier is ``head``

    def __init__(self, config: S4LConfig, input_shape, train=None) -> None:
        super().__init__(config, input_shape, train)
        self.build_head(config.latent_dim)

    def code(self, x: torch.Tensor) -> torch.Tensor:
        """Images -> the code both heads read (N, latent_dim); the encoder sees the centre square, as in rotation."""
        return self.encoder(centre_square(x))

    def losses(self, x: torch.Tensor, x_labeled: torch.Tensor | None = None, y_labeled: torch.Tensor | None = None):
        if x_labeled is not None and self.training:
            x_labeled = self.augment(x_labeled)
        return super().losses(x, x_labeled, y_labeled)
