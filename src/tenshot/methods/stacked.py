"""Stacked (denoising) autoencoder with greedy layer-wise pretraining
(Bengio et al. 2007; Vincent et al. 2010).

Layer k is a one-hidden-layer autoencoder trained on the codes of the frozen layers
below it; after the last layer, optional end-to-end fine-tuning of the whole stack.
The stage follows from the epoch (``--epochs`` per layer), so resume lands in the
right stage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from tenshot.config import Config, opt
from tenshot.losses import reconstruction_loss
from tenshot.methods.base import Method
from tenshot.nn import corrupt
from tenshot.nn.corruption import Noise


class GreedyLayerwise:
    """Mixin: epoch -> stage. Stages 0..n_layers-1 train one layer each for
    ``epochs_per_layer`` epochs; stage n_layers is fine-tuning (if any)."""

    n_layers: int
    finetune_epochs: int | None

    def total_epochs(self, epochs: int) -> int:
        self.epochs_per_layer = epochs
        return self.n_layers * epochs + self.finetune_epochs_for(epochs)

    def finetune_epochs_for(self, epochs: int) -> int:
        return epochs if self.finetune_epochs is None else self.finetune_epochs

    def stage(self) -> int:
        return min(self.current_epoch // self.epochs_per_layer, self.n_layers)  # type: ignore[attr-defined]


@dataclass
class StackedAEConfig(Config):
    layers: tuple[int, ...] = opt((512, 256, 128), "sizes of the stacked layers, bottom first", positive=True)
    noise: Noise | Literal["none"] = opt("masking", "corruption of each layer's input (stacked denoising AE)")
    noise_level: float = opt(0.2, "corruption strength (std or fraction)")
    finetune_epochs: int | None = opt(None, "end-to-end fine-tuning epochs after the greedy phase (default: --epochs; 0: none)")
    loss: Literal["bce", "mse"] = opt("bce", "reconstruction loss of the pixels")
    features: Literal["all", "top"] = opt("all", "what transform returns: the top code or all layers' codes concatenated")


class StackedAutoencoder(GreedyLayerwise, Method):
    """Stacked denoising autoencoder trained greedily layer by layer, then fine-tuned end to end."""

    Config = StackedAEConfig

    def __init__(self, config: StackedAEConfig, input_shape, train=None) -> None:
        super().__init__(config, input_shape, train)
        dims = [math.prod(self.input_shape), *config.layers]
        # Sigmoid codes lie in (0, 1), so every layer's reconstruction is a (soft) BCE.
        self.encoders = nn.ModuleList(nn.Sequential(nn.Linear(a, b), nn.Sigmoid()) for a, b in zip(dims[:-1], dims[1:]))
        self.decoders = nn.ModuleList(nn.Linear(b, a) for a, b in zip(dims[:-1], dims[1:]))
        self.n_layers = len(config.layers)
        self.finetune_epochs = config.finetune_epochs
        self.epochs_per_layer = self.train_config.epochs

    def corrupt(self, h: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        return h if cfg.noise == "none" or not self.training else corrupt(h, cfg.noise, cfg.noise_level)

    def losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        stage = self.stage()
        h = x.flatten(1)
        if stage == self.n_layers:  # fine-tuning: the whole stack against the pixels
            code = self.corrupt(h)
            for enc in self.encoders:
                code = enc(code)
            for dec in reversed(self.decoders[1:]):
                code = torch.sigmoid(dec(code))
            rec = reconstruction_loss(self.decoders[0](code), h, self.config.loss)
            return {"loss": rec, "reconstruction": rec}
        with torch.no_grad():  # the layers below are frozen
            for enc in self.encoders[:stage]:
                h = enc(h)
        logits = self.decoders[stage](self.encoders[stage](self.corrupt(h)))
        rec = reconstruction_loss(logits, h, self.config.loss if stage == 0 else "bce")
        return {"loss": rec, f"layer{stage + 1}_reconstruction": rec}

    def log_terms(self, terms, prefix="train"):
        super().log_terms({**terms, "stage": torch.tensor(float(self.stage()))}, prefix)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        h, codes = x.flatten(1), []
        for enc in self.encoders:
            h = enc(h)
            codes.append(h)
        return torch.cat(codes, 1) if self.config.features == "all" else h
