"""Encoders and decoders shared by every method.

An encoder maps images (N, C, H, W) to a code (N, latent_dim) and can also return the
activations of each hidden block (``features``): probing several layers is often better
than probing the code alone, and GAN discriminators use the same mechanism.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Literal

import torch
from torch import nn
import torch.nn.functional as F

Activation = Literal["relu", "leaky_relu", "sigmoid", "tanh", "none"]


def activation(name: Activation) -> nn.Module:
    return {
        "relu": nn.ReLU(),
        "leaky_relu": nn.LeakyReLU(0.2),
        "sigmoid": nn.Sigmoid(),
        "tanh": nn.Tanh(),
        "none": nn.Identity(),
    }[name]


def conv_sizes(height: int, width: int, n_blocks: int) -> list[tuple[int, int]]:
    """Spatial size after each stride-2 block (kernel 3, padding 1): ceil(size / 2)."""
    sizes = [(height, width)]
    for _ in range(n_blocks):
        h, w = sizes[-1]
        sizes.append(((h + 1) // 2, (w + 1) // 2))
    return sizes


def block_outputs(blocks: Iterable[nn.Module], x: torch.Tensor) -> list[torch.Tensor]:
    """Run ``x`` through ``blocks`` in order and keep every block's output (what probes of
    several layers, and the DCGAN feature protocol, read)."""
    out = []
    for block in blocks:
        x = block(x)
        out.append(x)
    return out


class Encoder(nn.Module):
    """Base: ``forward`` gives the code; ``features`` gives [block_1, ..., block_n, code]."""

    latent_dim: int

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)[-1]


class MLPEncoder(Encoder):
    """Flatten -> [Linear -> act] * len(hidden) -> Linear -> code_activation."""

    def __init__(
        self,
        in_shape: tuple[int, ...],
        latent_dim: int,
        hidden: tuple[int, ...] = (512, 256),
        act: Activation = "relu",
        code_activation: Activation = "none",
    ) -> None:
        super().__init__()
        dims = [math.prod(in_shape), *hidden]
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Linear(a, b), activation(act)) for a, b in zip(dims[:-1], dims[1:])
        )
        self.code = nn.Sequential(nn.Linear(dims[-1], latent_dim), activation(code_activation))
        self.latent_dim = latent_dim

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        h = x.flatten(1)
        out = block_outputs(self.blocks, h)
        return [*out, self.code(out[-1] if out else h)]  # no hidden layers: the code of the pixels


class MLPDecoder(nn.Module):
    """Mirror of MLPEncoder; returns logits shaped like the input image."""

    def __init__(
        self,
        out_shape: tuple[int, ...],
        latent_dim: int,
        hidden: tuple[int, ...] = (512, 256),
        act: Activation = "relu",
    ) -> None:
        super().__init__()
        dims = [latent_dim, *reversed(hidden)]
        layers: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:]):
            layers += [nn.Linear(a, b), activation(act)]
        layers.append(nn.Linear(dims[-1], math.prod(out_shape)))
        self.net = nn.Sequential(*layers)
        self.out_shape = tuple(out_shape)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(-1, *self.out_shape)


class ConvEncoder(Encoder):
    """Stride-2 conv blocks (no pooling: the net learns its own downsampling), then a
    linear code. ``width`` channels in the first block, doubled in each next one; a block
    is its stride-2 conv and ``depth - 1`` more 3x3 convs at the same resolution (VGG's
    stacking: more nonlinearity and receptive field per block, same output sizes).

    (N, C, H, W) -> blocks (N, width * 2**i, ceil(H / 2**(i+1)), ...) -> code (N, latent_dim)
    """

    def __init__(
        self,
        in_shape: tuple[int, int, int],
        latent_dim: int,
        width: int = 32,
        n_blocks: int = 2,
        act: Activation = "relu",
        code_activation: Activation = "none",
        batch_norm: bool = False,
        depth: int = 1,
    ) -> None:
        super().__init__()
        channels = [in_shape[0]] + [width * 2**i for i in range(n_blocks)]
        self.blocks = nn.ModuleList()
        for i, (a, b) in enumerate(zip(channels[:-1], channels[1:])):
            layers: list[nn.Module] = []
            for j in range(depth):
                # DCGAN practice: no batch norm on the first conv, which sees raw pixels.
                norm = nn.BatchNorm2d(b) if batch_norm and (i, j) != (0, 0) else nn.Identity()
                conv = nn.Conv2d(a, b, 3, stride=2, padding=1) if j == 0 else nn.Conv2d(b, b, 3, padding=1)
                layers += [conv, norm, activation(act)]
            self.blocks.append(nn.Sequential(*layers))
        h, w = conv_sizes(in_shape[1], in_shape[2], n_blocks)[-1]
        self.code = nn.Sequential(nn.Flatten(), nn.Linear(channels[-1] * h * w, latent_dim), activation(code_activation))
        self.latent_dim = latent_dim

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = block_outputs(self.blocks, x)
        return [*out, self.code(out[-1])]


class ConvDecoder(nn.Module):
    """Mirror of ConvEncoder: linear -> (C, h, w) -> transposed convs -> logits (N, C, H, W)."""

    def __init__(
        self,
        out_shape: tuple[int, int, int],
        latent_dim: int,
        width: int = 32,
        n_blocks: int = 2,
        act: Activation = "relu",
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        sizes = conv_sizes(out_shape[1], out_shape[2], n_blocks)
        channels = [out_shape[0]] + [width * 2**i for i in range(n_blocks)]
        top = channels[-1]
        self.top_shape = (top, *sizes[-1])
        self.fc = nn.Sequential(nn.Linear(latent_dim, math.prod(self.top_shape)), activation(act))
        layers: list[nn.Module] = []
        for i in reversed(range(n_blocks)):
            (h_in, w_in), (h_out, w_out) = sizes[i + 1], sizes[i]
            # output_padding makes each transposed conv land exactly on the encoder's size.
            pad = (h_out - (2 * h_in - 1), w_out - (2 * w_in - 1))
            layers.append(nn.ConvTranspose2d(channels[i + 1], channels[i], 3, stride=2, padding=1, output_padding=pad))
            if i > 0:
                layers += [nn.BatchNorm2d(channels[i]) if batch_norm else nn.Identity(), activation(act)]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.fc(z).view(-1, *self.top_shape))


def pooled_features(
    activations: list[torch.Tensor], grid: int = 4, pool: Literal["max", "avg"] = "max", pyramid: bool = False
) -> torch.Tensor:
    """Concatenate activations: 4-D maps are pooled to a ``grid`` x ``grid`` map and
    flattened (Radford et al. 2015, sec. 5.1); 2-D ones are kept as they are. With
    ``pyramid`` each map is pooled to every grid from 1x1 to ``grid`` x ``grid`` and the
    levels concatenated (a spatial pyramid, Lazebnik et al. 2006): coarse cells say what
    is there, fine ones where.

    list of (N, C_i, H_i, W_i) or (N, D_i) -> (N, sum_i C_i * sum of the grids' cells, or D_i)
    """
    pool_to = F.adaptive_max_pool2d if pool == "max" else F.adaptive_avg_pool2d
    parts = []
    for a in activations:
        if a.dim() != 4:
            parts.append(a.flatten(1))
            continue
        for g in range(1, grid + 1) if pyramid else (grid,):
            parts.append(pool_to(a, (min(g, a.shape[2]), min(g, a.shape[3]))).flatten(1))
    return torch.cat(parts, dim=1)


def build_encoder(
    kind: Literal["mlp", "conv"],
    in_shape: tuple[int, int, int],
    latent_dim: int,
    *,
    hidden: tuple[int, ...] = (512, 256),
    width: int = 32,
    n_blocks: int = 2,
    code_activation: Activation = "none",
    batch_norm: bool = False,
    depth: int = 1,
) -> Encoder:
    """An MLP or conv encoder; ``batch_norm`` and ``depth`` shape the conv one only."""
    if kind == "mlp":
        return MLPEncoder(in_shape, latent_dim, hidden, code_activation=code_activation)
    return ConvEncoder(
        in_shape, latent_dim, width, n_blocks, code_activation=code_activation, batch_norm=batch_norm, depth=depth
    )


def build_decoder(
    kind: Literal["mlp", "conv"],
    out_shape: tuple[int, int, int],
    latent_dim: int,
    *,
    hidden: tuple[int, ...] = (512, 256),
    width: int = 32,
    n_blocks: int = 2,
) -> nn.Module:
    if kind == "mlp":
        return MLPDecoder(out_shape, latent_dim, hidden)
    return ConvDecoder(out_shape, latent_dim, width, n_blocks)
