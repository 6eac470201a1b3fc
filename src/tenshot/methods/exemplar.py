"""Exemplar-CNN (Dosovitskiy, Springenberg, Riedmiller & Brox 2014, "Discriminative
Unsupervised Feature Learning with Convolutional Neural Networks").

A surrogate classification task: ``n_exemplars`` seed images, each its own class, seen
under many random transformations (crop/scale, rotation, shift, colour); the network
classifies a transformed image by the seed it came from, with a softmax over the surrogate
classes. To succeed it must ignore the transformations and keep what tells the seeds apart.

How it sits on the engine: at the start of training the seeds are drawn, with the run's
seed, from the training images (the paper draws its patches once, too). A training step
then takes as many (seed, transformation) pairs as the batch has images: the loader's batch
sets the step's size and the epoch's length, the seeds supply the images. The seeds are a
buffer of the model, so a saved or resumed model keeps its classes. The pretext accuracy is
the surrogate classification accuracy (chance: 1 / n_exemplars).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from tenshot.config import opt
from tenshot.errors import ConfigError
from tenshot.methods.contrastive import ContrastiveConfig, ContrastiveMethod, Pretext


@dataclass
class ExemplarConfig(ContrastiveConfig):
    # The paper used 8000 to 32000 classes with hundreds of transformations each; 1000
    # gives every class ~100 transformed views in 5 epochs on 20k images.
    n_exemplars: int = opt(
        1000, "surrogate classes: training images drawn at the start, each its own class "
        "(at most the number of training images)", positive=True,
    )
    # The paper's transformations, at the scale of whole small images: scaling (a crop of
    # 50-100% of the area), rotation up to 20 degrees, a shift, colour and contrast jitter.
    crop_scale: tuple[float, ...] = opt(
        (0.5, 1.0), "random resized crop: min,max area kept, as a fraction of the image (1,1 = no crop)"
    )
    rotate: float = opt(20.0, "random rotation: up to this many degrees either way (0 = none)")
    translate: float = opt(0.1, "random shift: up to this fraction of the width/height either way (0 = none)")


def first_tensor(item: torch.Tensor | tuple | list) -> torch.Tensor:
    """The image of a dataset item: TensorDataset gives (x,), semi-supervised sets (x, ...)."""
    return item[0] if isinstance(item, (tuple, list)) else item


class Exemplar(ContrastiveMethod):
    """Exemplar-CNN (Dosovitskiy et al. 2014): classify transformed images by the seed image they came from."""

    Config = ExemplarConfig

    def __init__(self, config: ExemplarConfig, input_shape: tuple[int, int, int], train=None) -> None:
        super().__init__(config, input_shape, train)
        # Buffers, not parameters: the seeds are saved with the weights (a resumed run must
        # keep the classes its classifier rows stand for) but never trained.
        self.register_buffer("exemplars", torch.zeros(config.n_exemplars, *self.input_shape))
        self.register_buffer("chosen", torch.zeros((), dtype=torch.bool))

    def build_head(self, config: ExemplarConfig) -> nn.Module:
        return nn.Linear(config.latent_dim, config.n_exemplars)  # the softmax classifier over surrogate classes

    # --- the surrogate classes ------------------------------------------------------------
    def check_data(self, n_images: int) -> None:
        n = self.config.n_exemplars
        if n_images < n:
            raise ConfigError(
                f"exemplar: n_exemplars={n} surrogate classes, but the training data has only {n_images} images; "
                f"pass n_exemplars={n_images} or fewer (each class is one training image)"
            )

    def on_train_start(self) -> None:
        # Lightning restores a resumed checkpoint (seeds included) before this hook.
        if not bool(self.chosen):
            self.choose_exemplars(self.trainer.train_dataloader.dataset)

    @torch.no_grad()
    def choose_exemplars(self, data: Dataset) -> None:
        """Draw the seed images from ``data`` with the run's seed (every DDP rank draws the same)."""
        n = self.config.n_exemplars
        self.check_data(len(data))
        order = torch.randperm(len(data), generator=torch.Generator().manual_seed(self.train_config.seed))
        images = torch.stack([first_tensor(data[i]) for i in order[:n].tolist()])
        self.exemplars.copy_(images)
        self.chosen.fill_(True)

    def surrogate_batch(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(seed images (B, C, H, W), their classes (B,)) for a step on batch x (B, C, H, W)."""
        if bool(self.chosen):
            labels = torch.randint(self.config.n_exemplars, (len(x),), device=x.device)
            return self.exemplars[labels], labels
        # Before the seeds are drawn -- only outside a fit, e.g. the engine's first-batch
        # check -- the batch's own images stand in as the first classes: the same computation.
        k = min(len(x), self.config.n_exemplars)
        return x[:k], torch.arange(k, device=x.device)

    def objective(self, x: torch.Tensor) -> Pretext:
        seeds, labels = self.surrogate_batch(x)
        logits = self.project(self.view(seeds))  # (B, n_exemplars)
        return Pretext(F.cross_entropy(logits, labels), logits, labels)

    def test_metrics(self, x: torch.Tensor) -> dict[str, float]:
        # The surrogate task is defined on the seed images alone: held-out images have no
        # surrogate class, so there is no held-out pretext accuracy to report.
        return {}
