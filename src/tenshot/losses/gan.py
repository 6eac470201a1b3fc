"""Losses of generative adversarial networks (Goodfellow et al. 2014, "Generative
Adversarial Nets") and of the training techniques of Salimans et al. 2016 ("Improved
Techniques for Training GANs"). D outputs logits; D(x) = sigmoid(logit) is the probability
that x is real. Every function returns a scalar averaged over the batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, real_target: float = 1.0) -> torch.Tensor:
    """-E[s log D(x) + (1 - s) log(1 - D(x))] - E[log(1 - D(G(z)))]: the discriminator's
    cross-entropy, with real images labelled ``s = real_target`` and generated ones 0.

    ``real_target`` < 1 is one-sided label smoothing (Salimans et al. 2016, sec. 3.4):
    only the real targets are smoothed (e.g. 0.9), since smoothing the fake ones too would
    keep D from pushing generated samples away from where there is no data.

    real_logits: (N,); fake_logits: (M,), M need not equal N -> ()
    """
    if not 0.0 < real_target <= 1.0:
        raise ValueError(f"real_target must be in (0, 1] (1 = no smoothing, 0.9 is usual), got {real_target}")
    real = F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, real_target))
    fake = F.softplus(fake_logits).mean()  # -log(1 - sigmoid(l)) = softplus(l)
    return real + fake


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss -E[log D(G(z))] (Goodfellow et al. 2014, sec. 3):
    the same fixed point as minimising E[log(1 - D(G(z)))], but strong gradients early on,
    when D rejects the generated images with confidence.

    fake_logits: (M,) -> ()
    """
    return F.softplus(-fake_logits).mean()  # -log sigmoid(l) = softplus(-l)


def feature_matching_loss(real_features: torch.Tensor, fake_features: torch.Tensor) -> torch.Tensor:
    """||E f(x) - E f(G(z))||_2^2 for the activations f of an intermediate layer of D
    (Salimans et al. 2016, sec. 3.1): G matches the statistics of the real data on the
    features D finds discriminative, instead of maximising D's output.

    real_features: (N, ...); fake_features: (M, ...) with the same trailing shape -> ()
    """
    if real_features.shape[1:] != fake_features.shape[1:]:
        raise ValueError(
            f"real features {tuple(real_features.shape)} and fake features {tuple(fake_features.shape)} "
            "must come from the same layer (same shape after the batch dimension)"
        )
    diff = real_features.flatten(1).mean(0) - fake_features.flatten(1).mean(0)
    return diff.pow(2).sum()


def historical_averaging_penalty(params: Sequence[torch.Tensor], averages: Sequence[torch.Tensor]) -> torch.Tensor:
    """||theta - (1/t) sum_i theta[i]||^2, summed over every parameter tensor of one player
    (Salimans et al. 2016, sec. 3.3): pulls the parameters toward their own running mean,
    which damps the oscillations that gradient descent shows on games.

    params: tensors of any shape; averages: the same shapes, in the same order -> ()
    """
    if len(params) != len(averages) or any(p.shape != a.shape for p, a in zip(params, averages)):
        raise ValueError(
            f"{len(params)} parameters and {len(averages)} averages do not match one to one; "
            "keep the averages of the same network, in parameters() order"
        )
    if not params:
        raise ValueError("no parameters given")
    return sum(((p - a.detach()) ** 2).sum() for p, a in zip(params, averages))  # type: ignore[return-value]
