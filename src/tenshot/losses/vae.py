"""Terms of the variational autoencoder's objective (Kingma & Welling 2014, "Auto-Encoding
Variational Bayes") and the importance-weighted log-likelihood estimate (Burda, Grosse &
Salakhutdinov 2015, "Importance Weighted Autoencoders").

Every function returns one value per example, summed over that example's pixels or latent
units (shape (N,)); the method averages over the batch. Log-probabilities are in nats.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def gaussian_kl(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL( N(mean, diag(exp(log_var))) || N(0, I) ) in closed form (Kingma & Welling 2014,
    appendix B): 0.5 * sum_j (mean_j^2 + var_j - 1 - log_var_j).

    mean, log_var: (N, D) -> (N,)
    """
    if mean.shape != log_var.shape:
        raise ValueError(f"mean {tuple(mean.shape)} and log_var {tuple(log_var.shape)} must have the same shape")
    return 0.5 * (mean.pow(2) + log_var.exp() - 1.0 - log_var).flatten(1).sum(1)


def gaussian_log_prob(x: torch.Tensor, mean: torch.Tensor | float, log_var: torch.Tensor | float) -> torch.Tensor:
    """log N(x; mean, diag(exp(log_var))), summed over every dimension but the first.

    Used for the prior p(z) (mean 0, log_var 0), the posterior q(z|x) and a Gaussian
    decoder p(x|z). x: (N, ...); mean and log_var: broadcastable to x (a scalar log_var
    is one variance shared by all dimensions; floats are accepted) -> (N,)
    """
    log_var = torch.as_tensor(log_var, dtype=x.dtype, device=x.device)
    per_dim = -0.5 * (math.log(2 * math.pi) + log_var + (x - mean).pow(2) * torch.exp(-log_var))
    return per_dim.expand_as(x).flatten(1).sum(1)


def bernoulli_log_prob(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """log p(x|z) of independent Bernoulli pixels with p = sigmoid(logits), summed over the
    pixels of each example: sum x log p + (1 - x) log(1 - p), i.e. minus BCE with logits.

    Gray levels in [0, 1] are accepted as soft targets (the usual practice); the value is
    then not a normalised likelihood, and only comparable with published figures on
    binarised images. x, logits: (N, ...) -> (N,)
    """
    if logits.shape != x.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and x {tuple(x.shape)} must have the same shape")
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


def importance_weighted_log_likelihood(log_weights: torch.Tensor) -> torch.Tensor:
    """Importance-sampling estimate of log p(x) (Burda et al. 2015, eq. 8):
    log (1/K) sum_k w_k with log w_k = log p(x, z_k) - log q(z_k|x), z_k ~ q(z|x).

    A lower bound on log p(x) in expectation that tightens as K grows; K = 1 is the
    (single-sample) ELBO. Computed as logsumexp - log K so large weights do not overflow.

    log_weights: (K, N) -> (N,)
    """
    if log_weights.dim() != 2 or log_weights.shape[0] < 1:
        raise ValueError(f"log_weights must be (K samples, N examples) with K >= 1, got {tuple(log_weights.shape)}")
    return torch.logsumexp(log_weights, dim=0) - math.log(log_weights.shape[0])
