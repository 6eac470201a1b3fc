import math

import pytest
import torch
from torch.distributions import Bernoulli, MultivariateNormal, Normal, kl_divergence

from tenshot.losses.vae import bernoulli_log_prob, gaussian_kl, gaussian_log_prob, importance_weighted_log_likelihood


def test_gaussian_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mean, log_var = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    ref = kl_divergence(Normal(mean, (0.5 * log_var).exp()), Normal(0.0, 1.0)).sum(1)
    assert torch.allclose(gaussian_kl(mean, log_var), ref, atol=1e-5)
    assert torch.allclose(gaussian_kl(torch.zeros(2, 4), torch.zeros(2, 4)), torch.zeros(2))  # q = prior
    with pytest.raises(ValueError, match="same shape"):
        gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 4))


def test_gaussian_log_prob_matches_torch_distributions():
    g = torch.Generator().manual_seed(1)
    x, mean, log_var = (torch.randn(4, 2, 3, generator=g) for _ in range(3))
    ref = Normal(mean, (0.5 * log_var).exp()).log_prob(x).flatten(1).sum(1)
    assert torch.allclose(gaussian_log_prob(x, mean, log_var), ref, atol=1e-5)
    # a scalar variance shared by every dimension, and the standard normal from floats
    ref = Normal(mean, math.exp(0.5 * -1.3)).log_prob(x).flatten(1).sum(1)
    assert torch.allclose(gaussian_log_prob(x, mean, torch.tensor(-1.3)), ref, atol=1e-5)
    ref = Normal(0.0, 1.0).log_prob(x).flatten(1).sum(1)
    assert torch.allclose(gaussian_log_prob(x, 0.0, 0.0), ref, atol=1e-5)


def test_bernoulli_log_prob_reference_and_soft_targets():
    logits = torch.tensor([[0.0, 2.0, -3.0], [1.0, -0.5, 0.3]])
    x = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    assert torch.allclose(bernoulli_log_prob(x, logits), Bernoulli(logits=logits).log_prob(x).sum(1), atol=1e-6)
    soft = torch.tensor([[0.25, 0.5, 0.9], [0.0, 1.0, 0.1]])
    p = torch.sigmoid(logits)
    ref = (soft * p.log() + (1 - soft) * (1 - p).log()).sum(1)  # hand-written cross-entropy
    assert torch.allclose(bernoulli_log_prob(soft, logits), ref, atol=1e-6)
    with pytest.raises(ValueError, match="same shape"):
        bernoulli_log_prob(torch.zeros(2, 3), torch.zeros(2, 4))


def test_importance_weighted_estimate_is_log_mean_exp():
    log_w = torch.tensor([[-1.0, -500.0], [-2.0, -501.0], [-4.0, -503.0]])  # (K=3, N=2)
    ref0 = math.log((math.exp(-1) + math.exp(-2) + math.exp(-4)) / 3)
    out = importance_weighted_log_likelihood(log_w)
    assert out[0].item() == pytest.approx(ref0, rel=1e-6)
    assert out[1].item() == pytest.approx(ref0 - 499, rel=1e-6)  # no underflow at -500
    assert torch.equal(importance_weighted_log_likelihood(log_w[:1]), log_w[0])  # K = 1: the ELBO sample
    assert (out >= log_w.mean(0)).all()  # Jensen: never below the mean of the log-weights
    with pytest.raises(ValueError, match="K samples"):
        importance_weighted_log_likelihood(torch.zeros(3))


class LinearGaussian:
    """p(z) = N(0, I_d), p(x|z) = N(W z + b, s^2 I_D): p(x) = N(b, W W^T + s^2 I) is exact.
    q(z|x) is a deliberately imperfect diagonal Gaussian, so the ELBO is strictly below log p(x)."""

    def __init__(self, d=2, D=4, s=0.5, seed=0):
        g = torch.Generator().manual_seed(seed)
        f64 = dict(generator=g, dtype=torch.float64)
        self.W, self.b, self.s = torch.randn(D, d, **f64), torch.randn(D, **f64), s
        self.x = torch.randn(3, D, **f64) * 2 + self.b  # (N, D)
        # q: the true posterior's mean shifted, a diagonal variance too wide
        cov = torch.linalg.inv(torch.eye(d, dtype=torch.float64) + self.W.T @ self.W / s**2)
        self.q_mean = (cov @ self.W.T @ (self.x - self.b).T / s**2).T + 0.3
        self.q_log_var = torch.log(cov.diagonal() * 2).expand_as(self.q_mean)

    def exact_log_px(self):
        cov = self.W @ self.W.T + self.s**2 * torch.eye(len(self.b), dtype=torch.float64)
        return MultivariateNormal(self.b, cov).log_prob(self.x)  # (N,)

    def analytic_elbo(self):
        """E_q[log p(x|z)] - KL(q || p), both in closed form."""
        D, var = len(self.b), self.q_log_var.exp()
        resid = self.x - self.q_mean @ self.W.T - self.b
        expected_sq = resid.pow(2).sum(1) + (var @ self.W.T.pow(2)).sum(1)  # E||x - W z - b||^2
        rec = -0.5 * D * math.log(2 * math.pi * self.s**2) - expected_sq / (2 * self.s**2)
        return rec - gaussian_kl(self.q_mean, self.q_log_var)

    def log_weights(self, k, seed=1):
        """(K, N) log p(x, z_k) - log q(z_k|x), z_k ~ q, with the functions under test."""
        g = torch.Generator().manual_seed(seed)
        z = self.q_mean + (0.5 * self.q_log_var).exp() * torch.randn(k, *self.q_mean.shape, generator=g, dtype=torch.float64)
        z = z.flatten(0, 1)  # (K * N, d)
        x = self.x.repeat(k, 1)
        log_px_z = gaussian_log_prob(x, z @ self.W.T + self.b, 2 * math.log(self.s))
        log_pz = gaussian_log_prob(z, 0.0, 0.0)
        log_qz = gaussian_log_prob(z, self.q_mean.repeat(k, 1), self.q_log_var.repeat(k, 1))
        return (log_px_z + log_pz - log_qz).view(k, -1)


def test_single_sample_weights_average_to_the_analytic_elbo():
    toy = LinearGaussian()
    mean_log_w = toy.log_weights(20000).mean(0)
    assert torch.allclose(mean_log_w, toy.analytic_elbo(), atol=0.05)


def test_importance_weighted_estimate_approaches_exact_log_likelihood():
    toy = LinearGaussian()
    exact, elbo = toy.exact_log_px(), toy.analytic_elbo()
    assert (exact - elbo > 0.5).all(), "the toy's q must be imperfect for the test to mean something"

    def expected_estimate(k, repeats):  # the estimate with K = k, averaged over independent repeats
        log_w = toy.log_weights(k * repeats).view(k, repeats * len(toy.x))
        return importance_weighted_log_likelihood(log_w).view(repeats, -1).mean(0)

    # the bound rises with K and closes the gap to the exact log p(x)
    est = {1: expected_estimate(1, 20000), 10: expected_estimate(10, 2000), 1000: expected_estimate(1000, 20)}
    assert torch.allclose(est[1], elbo, atol=0.1)
    assert (est[1] < est[10]).all() and (est[10] < est[1000]).all()
    assert (est[1000] <= exact + 0.01).all()
    assert torch.allclose(est[1000], exact, atol=0.05)
