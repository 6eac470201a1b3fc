import pytest
import torch

from tenshot.config import TrainConfig
from tenshot.methods.autoencoder import (
    Autoencoder, AutoencoderConfig, DenoisingAEConfig, DenoisingAutoencoder, SparseAEConfig, SparseAutoencoder,
)
from tenshot.methods.stacked import StackedAEConfig, StackedAutoencoder

SHAPE = (1, 8, 8)


def test_features_code_vs_layers():
    code = Autoencoder(AutoencoderConfig(latent_dim=8, width=4, features="code"), SHAPE)
    layers = Autoencoder(AutoencoderConfig(latent_dim=8, width=4, features="layers"), SHAPE)
    x = torch.rand(3, *SHAPE)
    assert code.features(x).shape == (3, 8)
    assert layers.features(x).shape == (3, 4 * 4 * 4 + 8 * 2 * 2 + 8)


def test_denoising_loss_targets_clean_input_and_only_corrupts_in_training(monkeypatch):
    dae = DenoisingAutoencoder(DenoisingAEConfig(latent_dim=8, width=4, noise="masking", noise_level=0.5), SHAPE)
    seen = {}
    real_encoder = dae.encoder.forward
    monkeypatch.setattr(dae.encoder, "forward", lambda x: seen.setdefault("input", x) is not None and real_encoder(x))
    x = torch.rand(4, *SHAPE) + 0.1
    dae.train()
    dae.losses(x)
    assert (seen["input"] == 0).float().mean() > 0.3  # corrupted input went in
    seen.clear()
    dae.eval()
    dae.losses(x)
    assert torch.equal(seen["input"], x)


@pytest.mark.parametrize("sparsity, activation", [("kl", torch.nn.Sigmoid), ("l1", torch.nn.ReLU)])
def test_sparse_code_activation_and_penalty(sparsity, activation):
    sae = SparseAutoencoder(SparseAEConfig(latent_dim=16, width=4, sparsity=sparsity), SHAPE)
    assert isinstance(sae.encoder.code[-1], activation)
    terms = sae.losses(torch.rand(5, *SHAPE))
    assert terms["sparsity"] > 0
    assert torch.allclose(terms["loss"], terms["reconstruction"] + terms["sparsity"])


def test_stacked_greedy_stages_freeze_lower_layers():
    sae = StackedAutoencoder(StackedAEConfig(layers=(16, 8), noise="none", finetune_epochs=1), SHAPE, TrainConfig(epochs=2))
    assert sae.total_epochs(2) == 2 * 2 + 1
    x = torch.rand(4, *SHAPE)

    def grads_at(epoch):
        sae.zero_grad(set_to_none=True)
        type(sae).current_epoch = property(lambda self: epoch)
        try:
            sae.losses(x)["loss"].backward()
        finally:
            del type(sae).current_epoch
        return [p.grad is not None for p in sae.encoders.parameters()]

    assert grads_at(0) == [True, True, False, False]  # layer 1 only
    assert grads_at(2) == [False, False, True, True]  # layer 2 on frozen layer 1's codes
    assert grads_at(4) == [True, True, True, True]  # end-to-end fine-tuning
    assert sae.features(x).shape == (4, 16 + 8)
