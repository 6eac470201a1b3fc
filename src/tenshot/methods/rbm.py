"""Restricted Boltzmann machine (Smolensky 1986; Hinton 2002) and deep belief network
(Hinton, Osindero & Teh 2006).

A Bernoulli-Bernoulli RBM on the pixels flattened to a vector in [0, 1] (gray levels are
read as the probabilities of binary pixels, the usual practice). The update is CD-k or
persistent CD, written as the gradient of F(v_data) - F(v_model) (free energies averaged
over the batch, v_model detached) so that the engine's optimiser can apply it like any
loss. A DBN stacks RBMs greedily: layer k is an RBM trained on the hidden probabilities
of the frozen layers below it, ``--epochs`` per layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from tenshot.config import Config, opt
from tenshot.errors import ConfigError
from tenshot.losses.rbm import contrastive_divergence_loss, free_energy, pseudo_log_likelihood
from tenshot.methods.base import Method
from tenshot.methods.stacked import GreedyLayerwise


def bernoulli(p: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Binary states with P(1) = p. With a generator, drawn on the generator's device and
    moved to p's (generators are per device), so a seeded CPU generator works on any device."""
    if generator is None:
        return torch.bernoulli(p)
    u = torch.rand(p.shape, generator=generator, device=generator.device, dtype=p.dtype)
    return (u.to(p.device) < p).to(p.dtype)


class RBMLayer(nn.Module):
    """One RBM: weight (H, D), visible bias (D,), hidden bias (H,); with ``n_chains`` > 0
    it also holds persistent chains, a buffer so that checkpoints and resume keep them."""

    def __init__(self, n_visible: int, n_hidden: int, n_chains: int = 0) -> None:
        super().__init__()
        # Small random weights and zero biases (Hinton 2010, "A practical guide to training RBMs", sec. 8).
        self.weight = nn.Parameter(0.01 * torch.randn(n_hidden, n_visible))
        self.visible_bias = nn.Parameter(torch.zeros(n_visible))
        self.hidden_bias = nn.Parameter(torch.zeros(n_hidden))
        if n_chains:
            self.register_buffer("chains", torch.bernoulli(torch.full((n_chains, n_visible), 0.5)))

    def hidden_probs(self, v: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(F.linear(v, self.weight, self.hidden_bias))  # (N, D) -> (N, H)

    def visible_probs(self, h: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(F.linear(h, self.weight.t(), self.visible_bias))  # (N, H) -> (N, D)

    @torch.no_grad()
    def init_visible_bias(self, v: torch.Tensor, eps: float = 0.01) -> None:
        """b_i = log(p_i / (1 - p_i)), p_i the mean of unit i over data v (N, D) (Hinton 2010,
        sec. 8.1): the hidden units then need not spend early learning on the pixel means."""
        p = v.mean(0).clamp(eps, 1 - eps)
        self.visible_bias.copy_(torch.log(p / (1 - p)))

    def params(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.weight, self.visible_bias, self.hidden_bias

    @torch.no_grad()
    def gibbs(self, v: torch.Tensor, steps: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``steps`` rounds of h ~ p(h|v), v ~ p(v|h) from v (N, D) -> (binary v, p(v|h) of the last round)."""
        p = v
        for _ in range(steps):
            p = self.visible_probs(bernoulli(self.hidden_probs(v), generator))
            v = bernoulli(p, generator)
        return v, p


@dataclass
class ContrastiveDivergenceConfig(Config):
    """How each RBM is trained and sampled (shared by rbm and dbn)."""

    k: int = opt(1, "Gibbs steps per update (CD-k / PCD-k); 1 is the usual choice", positive=True)
    persistent: bool = opt(
        False, "persistent CD (Tieleman 2008): chains carry over between updates, a better density model "
        "with many updates; off: CD-k from the data, as good features (and better in a few epochs)"
    )
    n_chains: int = opt(100, "persistent: fantasy chains per RBM (Tieleman used 100)", positive=True)
    sample_steps: int = opt(1000, "Gibbs steps from random states per sample: more steps, better mixed samples", positive=True)


@dataclass
class RBMConfig(ContrastiveDivergenceConfig):
    n_hidden: int = opt(500, "hidden units; transform returns their probabilities p(h=1|v)", positive=True)


class RBM(Method):
    """Bernoulli restricted Boltzmann machine trained with CD-k or persistent CD; features = p(h|v)."""

    Config = RBMConfig

    def __init__(self, config: ContrastiveDivergenceConfig, input_shape: tuple[int, int, int], train=None) -> None:
        super().__init__(config, input_shape, train)
        sizes = [math.prod(self.input_shape), *self.hidden_sizes()]
        chains = config.n_chains if config.persistent else 0
        self.rbms = nn.ModuleList(RBMLayer(a, b, chains) for a, b in zip(sizes[:-1], sizes[1:]))

    # --- what a stack of RBMs overrides ------------------------------------------------
    def hidden_sizes(self) -> tuple[int, ...]:
        return (self.config.n_hidden,)

    def stage(self) -> int:
        """The layer being trained: the only one here; a DBN's follows the epoch."""
        return 0

    def stage_starts(self) -> bool:
        """Whether this epoch is the first of its stage (checkpoints fall between epochs, so
        a resumed run never repeats a stage's start)."""
        return self.current_epoch == 0

    def term(self, layer: int, name: str) -> str:
        return name  # a logged term's name: "free_energy" here, "layer2_free_energy" in a DBN

    # --- training ----------------------------------------------------------------------
    def layer_inputs(self, x: torch.Tensor, layer: int) -> torch.Tensor:
        """Images (N, C, H, W) -> the visible data (N, D_layer) of RBM ``layer``: the hidden
        probabilities of the layers below (frozen: no gradient reaches them)."""
        v = x.flatten(1)
        if v.numel() and (v.min() < 0 or v.max() > 1):  # a Bernoulli RBM has no meaning for other values
            raise ValueError(
                f"an RBM needs pixels in [0, 1], got values in [{v.min().item():.3g}, {v.max().item():.3g}]; rescale the images"
            )
        with torch.no_grad():
            for rbm in self.rbms[:layer]:
                v = rbm.hidden_probs(v)
        return v

    def on_train_batch_start(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> None:
        if batch_idx == 0 and self.stage_starts():  # a layer starts training: its biases from the data
            layer = min(self.stage(), len(self.rbms) - 1)
            self.rbms[layer].init_visible_bias(self.layer_inputs(batch[0], layer))

    def losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        layer = min(self.stage(), len(self.rbms) - 1)
        rbm, v = self.rbms[layer], self.layer_inputs(x, layer)
        k = self.config.k
        if self.config.persistent:
            # PCD: the chains are not restarted at the data, so they reach the model's own
            # modes, far from any training image, and the update raises their free energy.
            v_model, _ = rbm.gibbs(rbm.chains, k)
            rbm.chains.copy_(v_model)
        else:
            v_model, _ = rbm.gibbs(v, k)  # CD-k: k steps from the data
        loss = contrastive_divergence_loss(v, v_model, *rbm.params())
        with torch.no_grad():  # monitors only: neither is the quantity optimised
            index = torch.randint(0, v.shape[1], (len(v), 1), device=v.device)
            pll = pseudo_log_likelihood(v, *rbm.params(), index).mean()
            fe = free_energy(v, *rbm.params()).mean()
        return {"loss": loss, self.term(layer, "free_energy"): fe, self.term(layer, "pseudo_log_likelihood"): pll}

    # The optimiser stays the engine's Adam: with the biases started from the data it matched
    # SGD (lr 0.05, momentum 0.9) under CD-1 on Fashion-MNIST, while that SGD collapsed the
    # features under PCD; and SGD would need an lr of its own, as --lr is Adam's.

    # --- features, samples, held-out scores --------------------------------------------
    def codes(self, x: torch.Tensor) -> list[torch.Tensor]:
        """p(h=1|v) of every layer, bottom first, each (N, H_layer)."""
        v, out = x.flatten(1), []
        for rbm in self.rbms:
            v = rbm.hidden_probs(v)
            out.append(v)
        return out

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.codes(x)[-1]

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Gibbs chains in the top RBM from random states for ``sample_steps`` steps, then down
        through the lower layers by p(v|h) (binary states in between, as the DBN's directed
        layers generate). Returns the pixel probabilities p(v|h) (n, C, H, W) in [0, 1]."""
        device = self.rbms[0].weight.device
        top = self.rbms[-1]
        v = bernoulli(torch.full((n, top.weight.shape[1]), 0.5), generator).to(device)
        v, p = top.gibbs(v, self.config.sample_steps, generator)
        for rbm in reversed(self.rbms[:-1]):
            p = rbm.visible_probs(v)
            v = bernoulli(p, generator)
        return p.view(n, *self.input_shape).cpu()

    @torch.no_grad()
    def test_metrics(self, x: torch.Tensor, batch_size: int = 1024) -> dict[str, float]:
        """Mean pseudo-log-likelihood (stochastic, one random unit per image, seeded) and mean
        free energy of each RBM on its input from the test images ``x`` (N, C, H, W)."""
        generator = torch.Generator().manual_seed(self.train_config.seed)
        device = self.rbms[0].weight.device
        totals: dict[str, float] = {}
        for i in range(0, len(x), batch_size):
            v = x[i : i + batch_size].flatten(1).to(device)
            for layer, rbm in enumerate(self.rbms):
                index = torch.randint(0, v.shape[1], (len(v), 1), generator=generator).to(device)
                for name, value in (
                    ("pseudo_log_likelihood", pseudo_log_likelihood(v, *rbm.params(), index)),
                    ("free_energy", free_energy(v, *rbm.params())),
                ):
                    key = "test_" + self.term(layer, name)
                    totals[key] = totals.get(key, 0.0) + value.sum().item()
                v = rbm.hidden_probs(v)
        return {key: total / max(len(x), 1) for key, total in totals.items()}


@dataclass
class DBNConfig(ContrastiveDivergenceConfig):
    layers: tuple[int, ...] = opt((500, 500), "hidden units of the stacked RBMs, bottom first, e.g. 500,250", positive=True)
    features: Literal["all", "top"] = opt("top", "what transform returns: the top layer's p(h|v) or all layers' concatenated")

    def validate(self) -> None:
        super().validate()
        if not self.layers:
            raise ConfigError("layers is empty; give at least one hidden layer size, e.g. layers=[500, 500]")


class DBN(GreedyLayerwise, RBM):
    """Deep belief network: RBMs stacked greedily, each on the frozen layer below; features = top p(h|v)."""

    Config = DBNConfig

    def __init__(self, config: DBNConfig, input_shape: tuple[int, int, int], train=None) -> None:
        super().__init__(config, input_shape, train)
        self.n_layers = len(config.layers)
        self.finetune_epochs = 0  # greedy stages only: no end-to-end phase (up-down fine-tuning is not done)
        self.epochs_per_layer = self.train_config.epochs

    def hidden_sizes(self) -> tuple[int, ...]:
        return self.config.layers

    def stage_starts(self) -> bool:
        return self.current_epoch % self.epochs_per_layer == 0

    def term(self, layer: int, name: str) -> str:
        return f"layer{layer + 1}_{name}"

    def log_terms(self, terms: dict[str, torch.Tensor], prefix: str = "train") -> None:
        super().log_terms({**terms, "stage": torch.tensor(float(self.stage()))}, prefix)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        codes = self.codes(x)
        return torch.cat(codes, 1) if self.config.features == "all" else codes[-1]
