"""Variational autoencoder (Kingma & Welling 2014) and beta-VAE (Higgins et al. 2017).

q(z|x) = N(mean(x), diag(exp(log_var(x)))) on the MLP or conv encoder; p(z) = N(0, I);
p(x|z) Bernoulli (logits from the decoder) or Gaussian (mean = sigmoid of the decoder's
output, so it lies in [0, 1] like the pixels). Training minimises the negative ELBO,
-E_q[log p(x|z)] + beta * KL(q(z|x) || p(z)), per example and averaged over the batch;
beta = 1 is the VAE, and the beta-VAE changes that weight and nothing else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from tenshot.config import opt
from tenshot.errors import ConfigError
from tenshot.losses.vae import bernoulli_log_prob, gaussian_kl, gaussian_log_prob, importance_weighted_log_likelihood
from tenshot.methods.autoencoder import EncoderOptions
from tenshot.methods.base import Method, eval_mode
from tenshot.nn.encoders import build_decoder, build_encoder


@dataclass
class VAEConfig(EncoderOptions):
    latent_dim: int = opt(32, "size of z (transform returns the posterior mean, this size)", positive=True)
    decoder: Literal["bernoulli", "gaussian"] = opt(
        "bernoulli", "p(x|z): bernoulli (BCE with logits; the usual choice for pixels in [0, 1]) or gaussian"
    )
    decoder_std: float | None = opt(
        None, "gaussian: a fixed std for every pixel (e.g. 0.1); unset: one std shared by all pixels, "
        "learned with the network (sigma-VAE, Rybkin et al. 2021)", positive=True,
    )
    beta: float = opt(
        1.0, "weight of the KL term: 1 is the ELBO; > 1 trades reconstruction for a more factorised code", positive=True
    )
    # 10 keeps the test-set estimate to about a minute on a 2-core CPU; 100+ tightens it.
    ll_samples: int = opt(10, "importance samples per test image for test_log_likelihood (Burda et al. 2015; 100+ for a tighter bound); 0 skips it")

    def validate(self) -> None:
        super().validate()
        if self.ll_samples < 0:
            raise ConfigError(f"ll_samples must be >= 0 (0 skips the test log-likelihood), got {self.ll_samples}")
        if self.decoder_std is not None and self.decoder != "gaussian":
            raise ConfigError(
                f"decoder_std={self.decoder_std} only applies to decoder='gaussian'; drop it or set decoder=gaussian"
            )


class VAE(Method):
    """Variational autoencoder: Gaussian posterior, Bernoulli or Gaussian decoder; features = posterior mean."""

    Config = VAEConfig
    # (test image, sample) pairs decoded at once by test_metrics: bounds its memory.
    decode_chunk = 4096
    # The learned decoder std starts near a typical pixel error: Adam moves its log by about
    # lr per step, and from std = 1 the reconstruction would weigh ~100x too little for
    # thousands of steps, long enough for the KL to collapse the posterior. The floor keeps
    # an exactly reconstructed constant background from driving the likelihood to infinity.
    INIT_STD, MIN_STD = 0.1, 1e-3

    def __init__(self, config: VAEConfig, input_shape: tuple[int, int, int], train=None) -> None:
        super().__init__(config, input_shape, train)
        # The encoder's linear code layer has 2 * latent_dim outputs, split into the mean and
        # log-variance heads: two linear maps of the last hidden block, stored as one.
        self.encoder = build_encoder(config.encoder, self.input_shape, 2 * config.latent_dim, **config.arch())
        self.decoder = build_decoder(config.encoder, self.input_shape, config.latent_dim, **config.arch())
        if config.decoder == "gaussian" and config.decoder_std is None:
            self.decoder_log_std = nn.Parameter(torch.tensor(math.log(self.INIT_STD)))

    # --- the model ---------------------------------------------------------------------
    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (N, C, H, W) -> mean, log_var of q(z|x), each (N, latent_dim)."""
        mean, log_var = self.encoder(x).chunk(2, dim=1)
        return mean, log_var

    def log_likelihood(self, x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """log p(x|z) per example, from the decoder's output for z. (N, C, H, W) x2 -> (N,)"""
        if self.config.decoder == "bernoulli":
            return bernoulli_log_prob(x, logits)
        if self.config.decoder_std is not None:
            log_std = math.log(self.config.decoder_std)
        else:
            log_std = self.decoder_log_std.clamp(min=math.log(self.MIN_STD))
        return gaussian_log_prob(x, torch.sigmoid(logits), 2 * log_std)

    def losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        mean, log_var = self.posterior(x)
        # Reparameterisation: z = mean + std * eps keeps the sample differentiable in mean, std.
        z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
        rec = -self.log_likelihood(x, self.decoder(z)).mean()
        kl = gaussian_kl(mean, log_var).mean()
        return {"loss": rec + self.config.beta * kl, "reconstruction": rec, "kl": kl}

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.posterior(x)[0]  # the mean: deterministic, so probes see the same features twice

    # --- generation and held-out likelihood --------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode z ~ N(0, I): the decoder's mean (Bernoulli probabilities or Gaussian mean),
        not a noisy draw from p(x|z), which would only add pixel noise. -> (n, C, H, W) in [0, 1]"""
        device = next(self.parameters()).device
        z = torch.randn(n, self.config.latent_dim, generator=generator)  # on CPU: generators are per device
        return torch.sigmoid(self.decoder(z.to(device))).cpu()

    @torch.no_grad()
    def test_metrics(self, x: torch.Tensor) -> dict[str, float]:
        """Mean over ``x`` (N, C, H, W) of the ELBO and, with ``ll_samples`` = K > 0, of the
        importance-weighted estimate of log p(x) with K samples (nats per image; the estimate
        is >= the ELBO on average and tends to log p(x) as K grows). Seeded: same model,
        same figures."""
        k = self.config.ll_samples
        draws = max(k, 1)
        device = next(self.parameters()).device
        generator = torch.Generator().manual_seed(self.train_config.seed)
        elbo, log_lik = [], []
        with eval_mode(self):
            step = max(1, self.decode_chunk // draws)
            for i in range(0, len(x), step):
                xb = x[i : i + step].to(device)
                mean, log_var = self.posterior(xb)  # (B, D)
                eps = torch.randn(draws, *mean.shape, generator=generator).to(device)
                z = mean + torch.exp(0.5 * log_var) * eps  # (K, B, D)
                x_k = xb.expand(draws, *xb.shape).flatten(0, 1)  # (K * B, C, H, W)
                log_px_z = self.log_likelihood(x_k, self.decoder(z.flatten(0, 1))).view(draws, -1)  # (K, B)
                # ELBO with the analytic KL and the K draws averaged: lower variance than one draw.
                elbo.append(log_px_z.mean(0) - gaussian_kl(mean, log_var))
                if k > 0:
                    log_pz = gaussian_log_prob(z.flatten(0, 1), 0.0, 0.0).view(draws, -1)
                    log_qz = gaussian_log_prob(
                        z.flatten(0, 1), mean.repeat(draws, 1), log_var.repeat(draws, 1)
                    ).view(draws, -1)
                    log_lik.append(importance_weighted_log_likelihood(log_px_z + log_pz - log_qz))
        out = {"test_elbo": torch.cat(elbo).mean().item()}
        if k > 0:
            out["test_log_likelihood"] = torch.cat(log_lik).mean().item()
        return out


@dataclass
class BetaVAEConfig(VAEConfig):
    beta: float = opt(4.0, "weight of the KL term (Higgins et al. 2017); 1 is the plain VAE", positive=True)


class BetaVAE(VAE):
    """beta-VAE (Higgins et al. 2017): the VAE with the KL term weighted by beta (default 4)."""

    Config = BetaVAEConfig
