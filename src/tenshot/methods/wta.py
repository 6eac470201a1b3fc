"""Convolutional winner-take-all autoencoder (Makhzani & Frey 2015, "Winner-Take-All
Autoencoders", sec. 3).

A sparse autoencoder whose sparsity is a hard constraint, not a penalty to weigh:

    x -> [conv k x k, stride 1 -> ReLU] * n_layers -> h      (the encoder: full-size maps)
      -> winner_take_all(h)   (training only: one activation per map and example, and only
                               in the examples where the map is among its batch's best)
      -> one linear transposed conv -> x_hat                  (the decoder)

With one surviving activation per map, the decoder pastes one copy of each winning map's
filter into the image, so each map must become a part that is placed where it fits; the
lifetime constraint spreads the images over the maps. No penalty weight to tune
(``tenshot.nn.winner_take_all``). Training computes the decoder from the winners alone
(``paste_filters``: the same output and gradients as the dense transposed conv, 1.4-3x
faster a step; ``benchmarks/wta_decoder.py``), which is what makes wide layers affordable.

For probes the encoder runs *without* the constraint and every layer's maps are
max-pooled (as the paper classifies with max-pooled maps) to each grid from 1x1 to
``grid`` x ``grid`` (a spatial pyramid; ``pyramid=False``: the finest only), concatenated
and square-rooted (``power``). The paper trains deep stacks layer by layer; here the
layers are trained together, end to end, in one run.

Defaults: one layer of 512 maps, 7x7 filters, a 7x7 decoder, features max-pooled 1x1 +
2x2 + 3x3 and square-rooted (7168-d). Chosen on a dev split (the last 10k train images;
10 labels per class from the first 50k, 3 splits, ``lda``; test labels not read), 20k
training images:

============================================  ===========
encoder (epochs); decoder 7x7 unless said     dev ``lda``
============================================  ===========
64 maps x 2 layers, 5x5, decoder 11x11 (3)    71.7  (the first default; 3x3/5x5 grid,
                                                     last layer only, lifetime 0.2,
                                                     flip-averaged: all within 0.5)
128 maps x 1 layer, 7x7 (2)                   71.8
256 maps x 1 layer, 7x7 (2 / 4)               72.4 / 72.8
512 maps x 1 layer, 7x7 (2 / 3)               73.9 / 73.8
512 maps x 1 layer, 5x5 / 9x9 (2)             72.4 / 73.8
============================================  ===========

A 3x3 grid beat 2x2 and 4x4 at 128 and 256 maps; average pooling lost 3 points. On the
512-map features (a second dev run: 73.7 at 3x3), the square root gave 74.2, the pyramid
74.5, both 75.3 (2x2 + 3x3 only, square-rooted: 75.2).

Measured on test (3 label splits, recipe 2 epochs on 20k images, one thread;
``benchmarks/label_efficiency.json``): with the pyramid and square root, 10 labels per
class, ``self-train`` 76.5 +- 1.0% (``wta_ae_self_train_cpu``, pretraining 306 s; CV kept
4, 1 and 4 rounds), ``lda`` 75.6 +- 0.6%, ``linear`` 74.1% (``wta_ae_pyramid_sqrt_cpu``);
100 labels per class ``lda`` 84.7%, ``linear`` 84.6%. With the plain 3x3 features
(``wta_ae_cpu``) ``lda`` 74.6 +- 0.4%, ``self-train`` 75.1 +- 0.4%, 100 per class
``linear`` 84.1%. The first default (64 maps x 2 layers, ``wta_ae_64x2_cpu``) scored 73.4
/ 74.3 and 83.8 / 84.0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from tenshot.config import Config, opt
from tenshot.errors import ConfigError
from tenshot.losses import reconstruction_loss
from tenshot.methods.base import Method
from tenshot.nn.encoders import block_outputs, pooled_features
from tenshot.nn.winner_take_all import paste_filters, winners


@dataclass
class WTAConfig(Config):
    width: int = opt(512, "feature maps in each encoder layer", positive=True)
    n_layers: int = opt(1, "stride-1 conv layers in the encoder", positive=True)
    kernel: int = opt(7, "encoder conv kernel size (odd)", positive=True)
    decoder_kernel: int = opt(7, "the linear decoder's kernel size (odd): the size of the parts it pastes", positive=True)
    lifetime: float = opt(0.05, "fraction of a batch's images in which each map may keep its winner")
    features: Literal["layers", "last"] = opt(
        "layers", "what transform returns: every layer ('layers') or the last one, max-pooled as grid and pyramid say"
    )
    grid: int = opt(3, "side of the max-pooling grid of the features", positive=True)
    pyramid: bool = opt(True, "pool to every grid from 1x1 to grid x grid and concatenate them (a spatial pyramid)")
    power: float = opt(0.5, "features are raised to this power (0.5 = square root, 1 = as pooled), which evens out their skew")

    def validate(self) -> None:
        super().validate()
        if self.kernel % 2 == 0 or self.decoder_kernel % 2 == 0:
            raise ConfigError(
                f"kernel and decoder_kernel must be odd (same-size maps), got {self.kernel} and {self.decoder_kernel}"
            )
        if not self.power > 0.0:
            raise ConfigError(f"power must be > 0 (0.5 = square root, 1 = the pooled maps as they are), got {self.power}")
        if not 0.0 < self.lifetime <= 1.0:
            raise ConfigError(f"lifetime must be a fraction in (0, 1] (e.g. 0.05; 1 = no lifetime sparsity), got {self.lifetime}")


class WTAAutoencoder(Method):
    """Convolutional winner-take-all autoencoder (Makhzani & Frey 2015): spatial + lifetime sparsity; features = pooled maps."""

    Config = WTAConfig

    def __init__(self, config: WTAConfig, input_shape: tuple[int, int, int], train=None) -> None:
        super().__init__(config, input_shape, train)
        channels = [self.input_shape[0]] + [config.width] * config.n_layers
        self.encoder = nn.ModuleList(
            nn.Sequential(nn.Conv2d(a, b, config.kernel, padding=config.kernel // 2), nn.ReLU())
            for a, b in zip(channels[:-1], channels[1:])
        )
        k = config.decoder_kernel
        self.decoder = nn.ConvTranspose2d(config.width, self.input_shape[0], k, padding=k // 2)

    def maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Images (N, C, H, W) -> every encoder layer's ReLU maps, each (N, width, H, W)."""
        return block_outputs(self.encoder, x)

    def _decode_winners(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The decoder applied to the winner-take-all of maps h (N, C, H, W): (x_hat, the
        fraction of (example, map) pairs that won). Same result as
        ``self.decoder(winner_take_all(h, lifetime))``, computed from the winners alone."""
        points = winners(h, self.config.lifetime)
        x_hat = paste_filters(points, self.decoder.weight, self.decoder.bias, len(h), h.shape[2:])
        return x_hat, torch.tensor(len(points[0]) / (h.shape[0] * h.shape[1]), device=h.device)

    def losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.maps(x)[-1]
        if self.training:  # the constraint shapes the filters; evaluation sees the dense maps
            x_hat, active = self._decode_winners(h)
        else:
            x_hat, active = self.decoder(h), (h.flatten(2).amax(2) > 0).float().mean()
        rec = reconstruction_loss(x_hat, x, "linear-mse")
        return {"loss": rec, "reconstruction": rec, "active_maps": active}  # active: fraction of (example, map) pairs on

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        maps = self.maps(x)
        c = self.config
        pooled = pooled_features(maps if c.features == "layers" else maps[-1:], grid=c.grid, pyramid=c.pyramid)
        # ReLU maps are >= 0; max-pooled, a few large values dominate. The square root
        # (the "power transform" of few-shot learning, Hu et al. 2021) makes them closer to
        # the Gaussians that LDA assumes: dev split lda 73.7 -> 74.2 (3x3), 75.3 with the pyramid.
        # The clamp keeps the gradient finite at 0 where the encoder is fine-tuned.
        return pooled if c.power == 1.0 else pooled.clamp_min(1e-12).pow(c.power)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """The decoder applied to the winners of ``x`` (as in training), in [0, 1]."""
        return self._decode_winners(self.maps(x)[-1])[0].clamp(0, 1)
