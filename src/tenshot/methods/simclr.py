"""SimCLR (Chen et al. 2020, "A Simple Framework for Contrastive Learning of Visual
Representations").

Every image of a batch is augmented twice; an encoder f and a projection MLP g map the 2N
views to z = g(f(view)), and NT-Xent asks each view to find its twin among the 2N - 1 other
views by cosine similarity / temperature: the other 2N - 2 views are its negatives. The
representation for probes is f's (under g). The pretext accuracy is how often the twin is
the most similar view (chance: 1 / (2N - 1)).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from tenshot.config import opt
from tenshot.losses.contrastive import nt_xent_logits
from tenshot.methods.contrastive import ContrastiveConfig, ContrastiveMethod, Pretext, projection_mlp


@dataclass
class SimCLRConfig(ContrastiveConfig):
    temperature: float = opt(
        0.5, "NT-Xent temperature: lower weighs the hardest negatives more (SimCLR: 0.5 on CIFAR-10, 0.1 with big batches)",
        positive=True,
    )
    proj_hidden: int = opt(128, "projection head: hidden units", positive=True)
    proj_dim: int = opt(64, "projection head: output size, where the loss is taken", positive=True)


class SimCLR(ContrastiveMethod):
    """SimCLR (Chen et al. 2020): NT-Xent between two augmented views via a projection head; features under the head."""

    Config = SimCLRConfig

    def build_head(self, config: SimCLRConfig) -> nn.Module:
        return projection_mlp(config.latent_dim, config.proj_hidden, config.proj_dim)

    def objective(self, x: torch.Tensor) -> Pretext:
        # Both views through the network in one pass: one call, the same weights.
        views = torch.cat([self.view(x), self.view(x)])  # (2N, C, H, W)
        z1, z2 = self.project(views).chunk(2)  # (N, proj_dim) each
        logits, targets = nt_xent_logits(z1, z2, self.config.temperature)  # (2N, 2N), (2N,)
        return Pretext(F.cross_entropy(logits, targets), logits, targets)  # cross-entropy here = NT-Xent
