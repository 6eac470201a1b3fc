"""Terms of a Bernoulli-Bernoulli restricted Boltzmann machine.

Energy E(v, h) = -b.v - c.h - h.W v with visible units v in {0, 1}^D (gray levels in
[0, 1] are accepted as their probabilities), hidden units h in {0, 1}^H, weight W of
shape (H, D) (as ``nn.Linear`` stores it), visible bias b (D,) and hidden bias c (H,).
Free energies and log-probabilities are in nats.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _check(v: torch.Tensor, weight: torch.Tensor, visible_bias: torch.Tensor, hidden_bias: torch.Tensor) -> None:
    if v.dim() != 2 or weight.dim() != 2 or v.shape[1] != weight.shape[1]:
        raise ValueError(
            f"v {tuple(v.shape)} must be (N, D) with D = weight.shape[1]; weight {tuple(weight.shape)} is (H, D)"
        )
    if visible_bias.shape != (weight.shape[1],) or hidden_bias.shape != (weight.shape[0],):
        raise ValueError(
            f"visible_bias {tuple(visible_bias.shape)} must be (D,) and hidden_bias {tuple(hidden_bias.shape)} (H,) "
            f"for weight {tuple(weight.shape)} (H, D)"
        )


def free_energy(v: torch.Tensor, weight: torch.Tensor, visible_bias: torch.Tensor, hidden_bias: torch.Tensor) -> torch.Tensor:
    """F(v) = -log sum_h exp(-E(v, h)) = -b.v - sum_j softplus(c_j + W_j.v), so that
    p(v) = exp(-F(v)) / Z (the hidden units summed out in closed form).

    v: (N, D); weight: (H, D); visible_bias: (D,); hidden_bias: (H,) -> (N,)
    """
    _check(v, weight, visible_bias, hidden_bias)
    return -(v @ visible_bias) - F.softplus(F.linear(v, weight, hidden_bias)).sum(1)


def contrastive_divergence_loss(
    v_data: torch.Tensor, v_model: torch.Tensor, weight: torch.Tensor, visible_bias: torch.Tensor, hidden_bias: torch.Tensor
) -> torch.Tensor:
    """mean F(v_data) - mean F(v_model), with ``v_model`` detached: its gradient with respect
    to (W, b, c) is minus the contrastive-divergence estimate of the log-likelihood
    gradient, <v h>_model - <v h>_data with h replaced by p(h|v) (Hinton 2002, "Training
    products of experts by minimizing contrastive divergence"). ``v_model`` are the states
    after k Gibbs steps from the data (CD-k) or of persistent chains (PCD, Tieleman 2008,
    "Training restricted Boltzmann machines using approximations to the likelihood
    gradient"); a minimiser of this scalar then follows the CD update. The value itself is
    the free-energy gap between data and model samples, not a likelihood.

    v_data: (N, D); v_model: (M, D), M need not equal N; weight: (H, D); biases (D,), (H,) -> ()
    """
    return (
        free_energy(v_data, weight, visible_bias, hidden_bias).mean()
        - free_energy(v_model.detach(), weight, visible_bias, hidden_bias).mean()
    )


def pseudo_log_likelihood(
    v: torch.Tensor,
    weight: torch.Tensor,
    visible_bias: torch.Tensor,
    hidden_bias: torch.Tensor,
    indices: torch.Tensor | None = None,
) -> torch.Tensor:
    """Pseudo-log-likelihood sum_i log p(v_i | v_-i) (Besag 1975), with the RBM's conditional
    p(v_i = 1 | v_-i) = sigmoid(F(v with v_i=0) - F(v with v_i=1)).

    With ``indices`` (N, K) of visible units, the stochastic estimate D/K * sum over those
    K units, unbiased for uniformly drawn indices (Marlin et al. 2010, "Inductive principles
    for restricted Boltzmann machine learning"; K = 1 is scikit-learn's
    ``BernoulliRBM.score_samples``). Without, the exact sum over all D units, which needs
    (N, D, H) memory: for small models and tests. Gray levels v_i in [0, 1] enter as
    soft targets, v_i log p(1|.) + (1 - v_i) log p(0|.); for binary v this is the
    pseudo-log-likelihood itself.

    v: (N, D); weight: (H, D); visible_bias: (D,); hidden_bias: (H,); indices: (N, K) int -> (N,)
    """
    _check(v, weight, visible_bias, hidden_bias)
    n, d = v.shape
    if indices is None:
        indices = torch.arange(d, device=v.device).expand(n, d)
    if indices.dim() != 2 or indices.shape[0] != n:
        raise ValueError(f"indices {tuple(indices.shape)} must be (N, K) with N = {n}, one row of unit indices per example")
    pre = F.linear(v, weight, hidden_bias).unsqueeze(1)  # (N, 1, H)
    w_i = weight.t()[indices]  # (N, K, H): the weights of each chosen unit
    v_i = v.gather(1, indices).unsqueeze(-1)  # (N, K, 1)
    # Setting v_i to 1 or 0 only moves the hidden pre-activations by W_i (1 - v_i) or -W_i v_i.
    logit = visible_bias[indices] + (F.softplus(pre + w_i * (1 - v_i)) - F.softplus(pre - w_i * v_i)).sum(-1)  # (N, K)
    v_i = v_i.squeeze(-1)
    log_cond = v_i * F.logsigmoid(logit) + (1 - v_i) * F.logsigmoid(-logit)  # (N, K)
    return log_cond.sum(1) * (d / indices.shape[1])
