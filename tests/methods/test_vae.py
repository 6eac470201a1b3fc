import dataclasses

import pytest
import torch

from tenshot.config import TrainConfig
from tenshot.errors import ConfigError
from tenshot.methods.vae import VAE, BetaVAE, BetaVAEConfig, VAEConfig
from tenshot.training import fit

SHAPE = (1, 8, 8)
TINY = {"latent_dim": 4, "width": 4, "hidden": (16,), "ll_samples": 8}
ONE_STEP = TrainConfig(epochs=1, batch_size=6, accelerator="cpu", devices="1", progress=False)
DECODERS = [{"decoder": "bernoulli"}, {"decoder": "gaussian"}, {"decoder": "gaussian", "decoder_std": 0.2}]


def make(cls=VAE, shape=SHAPE, **options) -> VAE:
    torch.manual_seed(0)
    return cls(cls.Config.from_dict({**TINY, **options}), shape, ONE_STEP)


@pytest.mark.parametrize("encoder", ["mlp", "conv"])
@pytest.mark.parametrize("decoder", DECODERS, ids=["bernoulli", "gaussian-learned", "gaussian-fixed"])
def test_one_step_changes_weights_and_logs_finite_terms(encoder, decoder):
    vae = make(encoder=encoder, **decoder)
    x = torch.rand(6, *SHAPE)
    before = {n: p.detach().clone() for n, p in vae.named_parameters()}
    record = fit(vae, x, ONE_STEP)
    final = record["final"]
    assert {"loss", "reconstruction", "kl"} <= set(final)
    assert all(isinstance(v, float) and v == v and abs(v) != float("inf") for v in final.values())
    changed = {n for n, p in vae.named_parameters() if not torch.equal(before[n], p)}
    assert any(n.startswith("encoder.") for n in changed) and any(n.startswith("decoder.") for n in changed)
    if "decoder_log_std" in before:
        assert "decoder_log_std" in changed, "the learned decoder std must be trained"


def test_loss_is_negative_elbo_and_beta_vae_only_reweights_kl():
    vae, beta_vae = make(VAE), make(BetaVAE)
    beta_vae.load_state_dict(vae.state_dict())  # the same network
    x = torch.rand(5, *SHAPE)
    torch.manual_seed(1)
    plain = vae.losses(x)
    torch.manual_seed(1)  # the same reparameterisation noise
    weighted = beta_vae.losses(x)
    assert torch.allclose(plain["loss"], plain["reconstruction"] + plain["kl"])
    assert torch.allclose(weighted["reconstruction"], plain["reconstruction"])
    assert torch.allclose(weighted["kl"], plain["kl"])
    assert torch.allclose(weighted["loss"], weighted["reconstruction"] + 4.0 * weighted["kl"])
    # the beta-VAE's config differs from the VAE's in beta's default only
    vae_defaults, beta_defaults = VAEConfig().to_dict(), BetaVAEConfig().to_dict()
    assert {k for k in vae_defaults if vae_defaults[k] != beta_defaults[k]} == {"beta"}
    assert beta_defaults["beta"] == 4.0 and [f.name for f in dataclasses.fields(BetaVAEConfig)] == [
        f.name for f in dataclasses.fields(VAEConfig)
    ]


def test_features_are_the_posterior_mean():
    vae = make(encoder="conv")
    x = torch.rand(7, *SHAPE)
    z = vae.features(x)
    assert z.shape == (7, 4)
    assert torch.equal(z, vae.features(x))  # deterministic: no sampling in transform
    with torch.no_grad():
        assert torch.allclose(z, vae.posterior(x)[0])


@pytest.mark.parametrize("decoder", DECODERS[:2], ids=["bernoulli", "gaussian"])
def test_sample_shapes_range_and_seed(decoder):
    vae = make(shape=(3, 6, 6), **decoder)
    a = vae.sample(5, torch.Generator().manual_seed(3))
    assert a.shape == (5, 3, 6, 6) and a.min() >= 0 and a.max() <= 1
    assert torch.equal(a, vae.sample(5, torch.Generator().manual_seed(3)))
    assert vae.sample(2).shape == (2, 3, 6, 6)


@pytest.mark.parametrize("decoder", DECODERS[:2], ids=["bernoulli", "gaussian"])
def test_test_metrics_finite_and_importance_estimate_above_elbo(decoder):
    vae = make(encoder="mlp", **decoder, ll_samples=32)
    vae.decode_chunk = 64  # 2 test images per chunk: exercises the batching
    x = torch.rand(9, *SHAPE)
    vae.train()
    metrics = vae.test_metrics(x)
    assert vae.training, "test_metrics must restore the training mode"
    assert set(metrics) == {"test_elbo", "test_log_likelihood"}
    assert all(isinstance(v, float) and torch.isfinite(torch.tensor(v)) for v in metrics.values())
    assert metrics["test_log_likelihood"] >= metrics["test_elbo"]
    assert metrics == vae.test_metrics(x), "seeded: the same model gives the same figures"
    assert set(make(ll_samples=0).test_metrics(x)) == {"test_elbo"}


def test_a_few_epochs_raise_the_test_elbo(blob_images):
    x, _ = blob_images(20, 3)
    x_test, _ = blob_images(5, 3, seed=1)
    vae = make(encoder="mlp", hidden=(32,), ll_samples=0)
    before = vae.test_metrics(x_test)["test_elbo"]
    fit(vae, x, TrainConfig(epochs=8, batch_size=10, lr=3e-3, accelerator="cpu", devices="1", progress=False))
    after = vae.test_metrics(x_test)["test_elbo"]
    assert after > before + 1.0, (before, after)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"ll_samples": -1}, "0 skips"),
        ({"decoder": "poisson"}, "choose one of: bernoulli, gaussian"),
        ({"decoder_std": 0.1}, "set decoder=gaussian"),
        ({"decoder": "gaussian", "decoder_std": 0.0}, "decoder_std must be positive"),
        ({"beta": -1.0}, "beta must be positive"),
        ({"latent_dim": 0}, "latent_dim must be positive"),
        ({"kl_weight": 2.0}, "valid options: .*beta"),
    ],
)
def test_config_rejects_bad_values(options, message):
    for config in (VAEConfig, BetaVAEConfig):
        with pytest.raises(ConfigError, match=message):
            config.from_dict(options)
