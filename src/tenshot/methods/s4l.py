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

Measured on Fashion-MNIST with 10 labels per class (``--width 48 --depth 2 --epochs 10``,
the settings of the rotation route, 24 min alone on two CPU threads): its own head scored
72.5 / 74.7 / 71.5% (72.9 ± 1.3) on the test split (label splits 0 / 1 / 2): a linear head on the code of a
hundred images, seen thousands of times each, fits them (train accuracy above 99.8%
from the second epoch) and no more. Nor do the labels improve the encoder's features for what follows:
``lda`` on split 0's 77.2% against 77.4% for rotation's, and the K+1 GAN on them
78.9 / 80.8 / 76.8% (78.8 ± 1.6) against 79.2 / 82.2 / 77.7% on rotation's (``benchmarks/semisup.json``,
``ssgan_on_s4l_rotation_w48_per_feature_range_30_epochs_60k_bf16_epyc_cpu``). The
paper's regime is another: 10% of ImageNet, 128 labels per class.
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
