"""Rotation prediction (Gidaris, Singh & Komodakis 2018, "Unsupervised representation
learning by predicting image rotations").

Every image is shown in its four rotations, 0/90/180/270 degrees, in the same batch,
and a conv net classifies which one it sees. Telling which way is up requires knowing
what the object is and where its parts are, so the encoder has to learn them; the four
classes are exactly balanced, so chance is 25% and ``pretext_acc`` shows the learning.

Depth matters more than width here (Fashion-MNIST, 10 labels per class, ``lda``, on a
dev split of the train images): a second 3x3 conv in each block (``depth=2``) scored
73.9% against 72.6% with one; with 64 channels instead of 32 74.4% in 3.2x the time;
a third conv 73.3%.
``depth=2`` trained 10 epochs on all 60k images reaches 78.1% with the ``self-train``
probe on the test set, 77.8% with pretraining seed 1 (``benchmarks/selfsup.json``,
``rotation_depth2_*``), against 74.1% for one conv per block, 5 epochs on 20k. At 64
channels for 30 epochs (``--width 64 --depth 2 --epochs 30``, about 5 GPU minutes) it
reaches 78.4 / 78.5 / 78.6% with pretraining seeds 0 / 1 / 2 (``lda`` 76.9 / 78.1 / 77.5;
``rotation_w64_depth2_30_epochs_60k_h200``). On the CPU, 10 epochs at 48 channels
(``--width 48``, 14 min on two threads) probe ``lda`` 76.9% on that dev split against
75.3% at 32 channels, above 20 epochs at 32 (76.0%; ``benchmarks/semisup_dev.json``,
``rotation_width_and_length_lda_dev_amx_cpu``); the K+1 GAN on its features scored 79.5%
on the test set against 79.1% at 32 (``benchmarks/semisup.json``). The defaults stay 32
channels and one conv: a CPU run stays minutes, and runs saved before ``depth`` existed
load as they were.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from tenshot.config import opt
from tenshot.losses.pretext import pretext_classification
from tenshot.methods.pretext import PretextMethod, PretextOptions, classifier_head
from tenshot.nn.augment import flip_and_shift

N_ROTATIONS = 4


def rotations(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """All four rotations of square images.

    x (N, C, S, S) -> views (4N, C, S, S), labels (4N,): ``views[k * N + i]`` is image i
    turned k * 90 degrees counter-clockwise, and its label is k. Exact (``rot90`` moves
    pixels, no interpolation), so no resampling artefact can give the rotation away.
    """
    if x.dim() != 4 or x.shape[2] != x.shape[3]:
        raise ValueError(f"rotations need square images (N, C, S, S), got {tuple(x.shape)}")
    views = torch.cat([torch.rot90(x, k, dims=(2, 3)) for k in range(N_ROTATIONS)])
    labels = torch.arange(N_ROTATIONS, device=x.device).repeat_interleave(len(x))
    return views, labels


def centre_square(x: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, S, S), S = min(H, W): a quarter turn keeps the shape only
    for squares, and the encoder's code layer expects one shape."""
    h, w = x.shape[2:]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    return x[:, :, top : top + s, left : left + s]


@dataclass
class RotationConfig(PretextOptions):
    augment: bool = opt(True, "random flips and shifts of each batch (kornia) before rotating")


class Rotation(PretextMethod):
    """Rotation prediction (Gidaris et al. 2018): classify 0/90/180/270-degree turns; features = pooled conv blocks."""

    Config = RotationConfig

    def __init__(self, config: RotationConfig, input_shape: tuple[int, int, int], train=None) -> None:
        super().__init__(config, input_shape, train)
        c, h, w = self.input_shape
        self.augment = flip_and_shift((h, w), config.augment)
        s = min(h, w)
        self.encoder = self.build_encoder((c, s, s))
        self.head = classifier_head(config.latent_dim, config.latent_dim, N_ROTATIONS)

    def losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.training:
            x = self.augment(x)
        views, labels = rotations(centre_square(x))  # (4N, C, S, S), (4N,)
        return pretext_classification(self.head(self.encoder(views)), labels)
