import math

import pytest
import torch

from tenshot.losses import kl_sparsity_penalty, l1_activation_penalty, reconstruction_loss


def test_bce_matches_hand_written_reference():
    logits = torch.tensor([[0.0, 2.0], [-1.0, 0.5]])
    target = torch.tensor([[1.0, 0.0], [0.25, 1.0]])
    p = torch.sigmoid(logits)
    ref = -(target * p.log() + (1 - target) * (1 - p).log()).sum(1).mean()
    assert torch.allclose(reconstruction_loss(logits, target, "bce"), ref, atol=1e-6)


def test_mse_is_on_sigmoid_output_summed_per_example():
    logits = torch.zeros(2, 3)
    target = torch.ones(2, 3)
    assert torch.allclose(reconstruction_loss(logits, target, "mse"), torch.tensor(3 * 0.25))


def test_shape_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match="same shape"):
        reconstruction_loss(torch.zeros(2, 3), torch.zeros(2, 4))


def test_kl_sparsity_reference_and_zero_at_target():
    h = torch.full((4, 3), 0.05)
    assert kl_sparsity_penalty(h, 0.05).abs() < 1e-6
    h = torch.tensor([[0.2, 0.5], [0.4, 0.5]])  # unit means 0.3 and 0.5
    rho = 0.1
    ref = sum(rho * math.log(rho / q) + (1 - rho) * math.log((1 - rho) / (1 - q)) for q in (0.3, 0.5))
    assert kl_sparsity_penalty(h, rho).item() == pytest.approx(ref, rel=1e-5)
    with pytest.raises(ValueError, match="rho"):
        kl_sparsity_penalty(h, 1.5)


def test_l1_penalty():
    h = torch.tensor([[1.0, -2.0], [0.0, 3.0]])
    assert l1_activation_penalty(h).item() == pytest.approx((3 + 3) / 2)
