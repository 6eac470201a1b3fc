"""GAN building blocks: generators, discriminators and the modules of Salimans et al. 2016
("Improved Techniques for Training GANs"): minibatch discrimination, virtual batch
normalisation and the running parameter average behind historical averaging.

Generators map z (N, latent_dim) to images in [-1, 1] (tanh); discriminators map images
to a logit and expose each hidden block's activations (``features``), which are both the
representation probes read and the layer feature matching works on.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn

from tenshot.losses.gan import historical_averaging_penalty
from tenshot.nn.encoders import block_outputs, conv_sizes


# --- Salimans et al. 2016 -------------------------------------------------------------
class MinibatchDiscrimination(nn.Module):
    """Minibatch discrimination (Salimans et al. 2016, sec. 3.2): lets D look at a whole
    batch, so a generator that collapses to a few images is easy to spot.

    f(x_i) (A,) is multiplied by a tensor T (A, B, C) into M_i (B, C); for each of the B
    kernels, c_b(x_i, x_j) = exp(-||M_i,b - M_j,b||_1) and o(x_i)_b = sum_j c_b(x_i, x_j)
    over the batch (j = i included, as in the paper). o(x_i) (B,) is appended to f(x_i).

    (N, A) -> (N, A + B)
    """

    def __init__(self, in_features: int, num_kernels: int = 100, kernel_dim: int = 5) -> None:
        super().__init__()
        self.num_kernels, self.kernel_dim = num_kernels, kernel_dim
        # std 1/sqrt(A) keeps M's entries near the scale of f's: L1 distances of a few units,
        # where exp(-d) still has a gradient (much larger and every c_b is 0).
        self.T = nn.Parameter(torch.randn(in_features, num_kernels * kernel_dim) / math.sqrt(in_features))

    @property
    def out_features(self) -> int:
        return self.T.shape[0] + self.num_kernels

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        m = (f @ self.T).view(-1, self.num_kernels, self.kernel_dim)  # (N, B, C)
        l1 = (m.unsqueeze(0) - m.unsqueeze(1)).abs().sum(3)  # (N, N, B): distances between every pair
        o = torch.exp(-l1).sum(1)  # (N, B)
        return torch.cat([f, o], dim=1)


class VirtualBatchNorm(nn.Module):
    """Virtual batch normalisation (Salimans et al. 2016, sec. 3.5): each example is
    normalised with the statistics of a fixed reference batch combined with its own,
    so an example's output does not depend on the other examples of its batch.

    Layout: the first ``reference_size`` rows of every input are the reference batch (the
    network prepends it, see ``Generator``); they are normalised with their own batch
    statistics. Every other example x gets mean = (R * mean_ref + mean_x) / (R + 1), and
    the same for the mean square (mean_x over x's own spatial positions), i.e. x is
    normalised as if it were added to the reference batch (as in the authors' code).

    (R + N, C) or (R + N, C, H, W) -> the same shape
    """

    def __init__(self, num_features: int, reference_size: int, eps: float = 1e-5) -> None:
        super().__init__()
        if reference_size < 1:
            raise ValueError(f"reference_size must be >= 1, got {reference_size}")
        self.reference_size, self.eps = reference_size, eps
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = self.reference_size
        if len(x) <= r:
            raise ValueError(f"input has {len(x)} rows; the first {r} must be the reference batch, then the examples")
        spatial = tuple(range(2, x.dim()))
        ref, cur = x[:r], x[r:]
        ref_mean = ref.mean((0, *spatial), keepdim=True)  # (1, C, 1, 1) or (1, C)
        ref_sq = ref.pow(2).mean((0, *spatial), keepdim=True)
        # torch reads mean over () as "over everything": per-example statistics of a vector are the vector itself.
        own_mean = cur.mean(spatial, keepdim=True) if spatial else cur
        own_sq = cur.pow(2).mean(spatial, keepdim=True) if spatial else cur.pow(2)
        new = 1.0 / (r + 1)
        mean = new * own_mean + (1 - new) * ref_mean  # (N, C, 1, 1) or (N, C)
        sq = new * own_sq + (1 - new) * ref_sq
        out = torch.cat([self._normalise(ref, ref_mean, ref_sq), self._normalise(cur, mean, sq)])
        shape = (1, -1) + (1,) * len(spatial)
        return out * self.weight.view(shape) + self.bias.view(shape)

    def _normalise(self, x: torch.Tensor, mean: torch.Tensor, mean_sq: torch.Tensor) -> torch.Tensor:
        return (x - mean) * torch.rsqrt((mean_sq - mean.pow(2)).clamp_min(0) + self.eps)


class HistoricalAverage(nn.Module):
    """Running mean of one player's parameters over its updates, for historical averaging
    (Salimans et al. 2016, sec. 3.3). Buffers, so checkpoints and resume keep it; the
    initial parameters count as the first of the past values."""

    def __init__(self, params: Iterable[torch.Tensor]) -> None:
        super().__init__()
        self.n = 0
        for p in params:
            self.register_buffer(f"mean_{self.n}", p.detach().clone())
            self.n += 1
        self.register_buffer("count", torch.ones(()))

    def averages(self) -> list[torch.Tensor]:
        return [getattr(self, f"mean_{i}") for i in range(self.n)]

    def penalty(self, params: Iterable[torch.Tensor]) -> torch.Tensor:
        return historical_averaging_penalty(list(params), self.averages())

    @torch.no_grad()
    def update(self, params: Iterable[torch.Tensor]) -> None:
        self.count += 1
        for p, mean in zip(params, self.averages()):
            mean += (p.detach() - mean) / self.count  # incremental mean of t values


# --- generators ------------------------------------------------------------------------
class Generator(nn.Module):
    """Base: ``net`` maps z (N, latent_dim) to images (N, C, H, W) in [-1, 1].

    With ``reference_size`` R > 0 the normalisation layers are virtual batch norms and a
    reference batch of R codes, drawn once here and kept as a buffer (fixed for the run,
    saved in checkpoints), is run in front of every batch.
    """

    net: nn.Module

    def __init__(self, latent_dim: int, reference_size: int = 0) -> None:
        super().__init__()
        self.latent_dim, self.reference_size = latent_dim, reference_size
        if reference_size:
            self.register_buffer("z_reference", torch.randn(reference_size, latent_dim))

    def norm(self, channels: int, dims: int) -> nn.Module:
        if self.reference_size:
            return VirtualBatchNorm(channels, self.reference_size)
        return nn.BatchNorm1d(channels) if dims == 1 else nn.BatchNorm2d(channels)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if not self.reference_size:
            return self.net(z)
        return self.net(torch.cat([self.z_reference, z]))[self.reference_size :]


class MLPGenerator(Generator):
    """z -> [Linear -> norm -> ReLU] * len(hidden) -> Linear -> tanh -> (C, H, W).

    Goodfellow et al.'s generator had no normalisation; batch norm steadies training and is
    the layer virtual batch norm replaces."""

    def __init__(
        self, out_shape: tuple[int, int, int], latent_dim: int, hidden: tuple[int, ...], reference_size: int = 0
    ) -> None:
        super().__init__(latent_dim, reference_size)
        dims = [latent_dim, *hidden]
        layers: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:]):
            layers += [nn.Linear(a, b), self.norm(b, 1), nn.ReLU()]
        layers += [nn.Linear(dims[-1], math.prod(out_shape)), nn.Tanh(), nn.Unflatten(1, tuple(out_shape))]
        self.net = nn.Sequential(*layers)


class ConvGenerator(Generator):
    """DCGAN generator (Radford et al. 2015): z is projected and reshaped to the smallest map
    (width * 2**(n_blocks-1) channels), then stride-2 transposed convolutions double the size
    up to exactly (H, W); batch norm and ReLU after every layer but the output, which is tanh.
    The sizes mirror the discriminator's (``conv_sizes``), so any (C, H, W) works.
    """

    def __init__(
        self,
        out_shape: tuple[int, int, int],
        latent_dim: int,
        width: int,
        n_blocks: int,
        kernel: int = 5,
        reference_size: int = 0,
    ) -> None:
        super().__init__(latent_dim, reference_size)
        sizes = conv_sizes(out_shape[1], out_shape[2], n_blocks)
        channels = [out_shape[0]] + [width * 2**i for i in range(n_blocks)]
        top = (channels[-1], *sizes[-1])
        # "Project and reshape": the one matrix multiply, then only (transposed) convolutions.
        layers: list[nn.Module] = [
            nn.Linear(latent_dim, math.prod(top)), nn.Unflatten(1, top), self.norm(top[0], 2), nn.ReLU()
        ]
        for i in reversed(range(n_blocks)):
            (h_in, w_in), (h_out, w_out) = sizes[i + 1], sizes[i]
            # An odd kernel with padding kernel // 2 gives 2 * size - 1; output_padding adds the last row if needed.
            pad = (h_out - (2 * h_in - 1), w_out - (2 * w_in - 1))
            layers.append(nn.ConvTranspose2d(channels[i + 1], channels[i], kernel, 2, kernel // 2, output_padding=pad))
            layers += [self.norm(channels[i], 2), nn.ReLU()] if i > 0 else [nn.Tanh()]
        self.net = nn.Sequential(*layers)


# --- discriminators ----------------------------------------------------------------------
class Discriminator(nn.Module):
    """Hidden blocks -> flatten -> [minibatch discrimination] -> linear -> logit."""

    def __init__(self, blocks: list[nn.Module], feature_dim: int, minibatch_discrimination: bool = False) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.feature_dim = feature_dim  # of the last hidden block flattened: what forward returns beside the logits
        self.minibatch = MinibatchDiscrimination(feature_dim) if minibatch_discrimination else None
        self.out = nn.Linear(self.minibatch.out_features if self.minibatch else feature_dim, 1)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Every hidden block's activations: (N, C_i, H_i, W_i) maps or (N, D_i) vectors."""
        return block_outputs(self.blocks, x)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (N, C, H, W) in [-1, 1] -> logits (N,), last hidden block flattened (N, F)."""
        h = self.features(x)[-1].flatten(1)
        logits = self.out(self.minibatch(h) if self.minibatch is not None else h)
        return logits.squeeze(1), h


def mlp_discriminator(
    in_shape: tuple[int, int, int], hidden: tuple[int, ...], minibatch_discrimination: bool = False
) -> Discriminator:
    """Flatten -> [Linear -> LeakyReLU(0.2)] * len(hidden) -> logit (LeakyReLU instead of the
    original maxout units: the same role, no extra parameters)."""
    dims = [math.prod(in_shape), *hidden]
    blocks = [nn.Sequential(nn.Flatten(), nn.Linear(a, b), nn.LeakyReLU(0.2)) for a, b in zip(dims[:-1], dims[1:])]
    return Discriminator(blocks, dims[-1], minibatch_discrimination)


def conv_discriminator(
    in_shape: tuple[int, int, int],
    width: int,
    n_blocks: int,
    kernel: int = 5,
    minibatch_discrimination: bool = False,
    depth: int = 1,
) -> Discriminator:
    """DCGAN discriminator (Radford et al. 2015): stride-2 convolutions instead of pooling,
    batch norm on every layer but the input one, LeakyReLU(0.2), no fully connected hidden
    layer: the last map is flattened into the output logit. Sizes: ``conv_sizes``.

    ``depth`` > 1 adds ``depth - 1`` 3x3 convs at each block's resolution after its
    stride-2 conv (VGG's stacking, as ``ConvEncoder``'s): more nonlinearity per block, the
    same block outputs, so the same feature sizes."""
    channels = [in_shape[0]] + [width * 2**i for i in range(n_blocks)]
    blocks = []
    for i, (a, b) in enumerate(zip(channels[:-1], channels[1:])):
        layers: list[nn.Module] = [
            nn.Conv2d(a, b, kernel, 2, kernel // 2),
            nn.BatchNorm2d(b) if i > 0 else nn.Identity(),  # not on the input layer: it sees raw pixels
            nn.LeakyReLU(0.2),
        ]
        for _ in range(depth - 1):
            layers += [nn.Conv2d(b, b, 3, padding=1), nn.BatchNorm2d(b), nn.LeakyReLU(0.2)]
        blocks.append(nn.Sequential(*layers))
    h, w = conv_sizes(in_shape[1], in_shape[2], n_blocks)[-1]
    return Discriminator(blocks, channels[-1] * h * w, minibatch_discrimination)


def dcgan_init(module: nn.Module) -> None:
    """Radford et al. 2015: weights from N(0, 0.02), batch norm scales from N(1, 0.02).
    Use as ``net.apply(dcgan_init)``."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm2d, nn.BatchNorm1d, VirtualBatchNorm)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
