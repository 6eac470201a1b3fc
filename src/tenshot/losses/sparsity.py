"""Sparsity penalties on hidden activations (sparse autoencoders)."""

from __future__ import annotations

import torch


def l1_activation_penalty(h: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of the L1 norm of each example's code. h: (N, D) -> scalar."""
    return h.abs().sum(1).mean()


def kl_sparsity_penalty(h: torch.Tensor, rho: float = 0.05, eps: float = 1e-6) -> torch.Tensor:
    """sum_j KL(rho || rho_hat_j), rho_hat_j the mean activation of unit j over the batch
    (Ng, "Sparse autoencoder" lecture notes). h: (N, D) in (0, 1) -> scalar."""
    if not 0.0 < rho < 1.0:
        raise ValueError(f"rho must be in (0, 1), got {rho}")
    rho_hat = h.mean(0).clamp(eps, 1 - eps)
    return (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()
