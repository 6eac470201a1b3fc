"""Autoencoders: undercomplete, sparse and denoising.

One class, three variants that each override the one term that differs:
``corrupt`` (denoising: the input), ``penalty`` (sparse: an extra loss on the code).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from tenshot.config import Config, opt
from tenshot.errors import ConfigError
from tenshot.losses import kl_sparsity_penalty, l1_activation_penalty, reconstruction_loss
from tenshot.methods.base import Method
from tenshot.nn import build_decoder, build_encoder, corrupt, pooled_features
from tenshot.nn.corruption import Noise


@dataclass
class EncoderOptions(Config):
    """The encoder/decoder architecture shared by the autoencoder family and the VAEs."""

    encoder: Literal["conv", "mlp"] = opt("conv", "encoder/decoder family")
    latent_dim: int = opt(128, "size of the code", positive=True)
    width: int = opt(32, "conv: channels of the first block (doubled in each next one)", positive=True)
    n_blocks: int = opt(2, "conv: number of stride-2 blocks", positive=True)
    hidden: tuple[int, ...] = opt((512, 256), "mlp: hidden layer sizes, e.g. 512,256", positive=True)

    def arch(self) -> dict:
        """Keyword arguments of build_encoder / build_decoder."""
        return dict(hidden=self.hidden, width=self.width, n_blocks=self.n_blocks)


@dataclass
class AutoencoderConfig(EncoderOptions):
    loss: Literal["bce", "mse"] = opt("bce", "reconstruction loss")
    features: Literal["layers", "code"] = opt(
        "layers", "what transform returns: 'code', or 'layers' = every block max-pooled to 4x4 plus the code"
    )


class Autoencoder(Method):
    """Undercomplete autoencoder (MLP or conv); features = code or pooled hidden layers."""

    Config = AutoencoderConfig

    def __init__(self, config: AutoencoderConfig, input_shape: tuple[int, int, int], train=None) -> None:
        super().__init__(config, input_shape, train)
        self.encoder = build_encoder(
            config.encoder, self.input_shape, config.latent_dim, code_activation=self.code_activation(config), **config.arch()
        )
        self.decoder = build_decoder(config.encoder, self.input_shape, config.latent_dim, **config.arch())

    def code_activation(self, config: AutoencoderConfig) -> str:
        return "none"

    def corrupt(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def penalty(self, code: torch.Tensor) -> dict[str, torch.Tensor]:
        return {}

    def losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        code = self.encoder(self.corrupt(x) if self.training else x)
        rec = reconstruction_loss(self.decoder(code), x, self.config.loss)  # always against the clean x
        extra = self.penalty(code)
        return {"loss": rec + sum(extra.values(), torch.zeros(())), "reconstruction": rec, **extra}

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        feats = self.encoder.features(x)
        return pooled_features(feats) if self.config.features == "layers" else feats[-1]

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decoder(self.encoder(x)))


@dataclass
class SparseAEConfig(AutoencoderConfig):
    latent_dim: int = opt(512, "size of the code (sparse codes are usually overcomplete)", positive=True)
    sparsity: Literal["kl", "l1"] = opt("kl", "penalty: KL to a target activation rho (sigmoid code) or L1 (ReLU code)")
    rho: float = opt(0.05, "kl: target mean activation of each code unit")
    sparsity_weight: float = opt(1.0, "weight of the sparsity penalty", positive=True)

    def validate(self) -> None:
        super().validate()
        if not 0.0 < self.rho < 1.0:
            raise ConfigError(f"rho must be in (0, 1), got {self.rho}")


class SparseAutoencoder(Autoencoder):
    """Sparse autoencoder: L1 activation penalty, or KL to a target activation rho=0.05."""

    Config = SparseAEConfig

    def code_activation(self, config: SparseAEConfig) -> str:
        # KL needs activations in (0, 1); L1 wants exact zeros, which ReLU gives.
        return "sigmoid" if config.sparsity == "kl" else "relu"

    def penalty(self, code: torch.Tensor) -> dict[str, torch.Tensor]:
        cfg = self.config
        term = kl_sparsity_penalty(code, cfg.rho) if cfg.sparsity == "kl" else l1_activation_penalty(code)
        return {"sparsity": cfg.sparsity_weight * term}


@dataclass
class DenoisingAEConfig(AutoencoderConfig):
    noise: Noise = opt("masking", "corruption of the input; the loss is on the clean input")
    noise_level: float = opt(0.3, "gaussian: std; masking / salt-and-pepper: fraction of pixels hit", positive=True)


class DenoisingAutoencoder(Autoencoder):
    """Denoising autoencoder: reconstruct the clean input from a corrupted one (Vincent et al. 2008)."""

    Config = DenoisingAEConfig

    def corrupt(self, x: torch.Tensor) -> torch.Tensor:
        return corrupt(x, self.config.noise, self.config.noise_level)
