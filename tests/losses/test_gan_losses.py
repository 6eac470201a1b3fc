import pytest
import torch

from tenshot.losses.gan import discriminator_loss, feature_matching_loss, generator_loss, historical_averaging_penalty

REAL = torch.tensor([2.0, -0.5, 0.3])
FAKE = torch.tensor([-1.0, 0.7])


@pytest.mark.parametrize("s", [1.0, 0.9])
def test_discriminator_loss_matches_hand_written_cross_entropy(s):
    p_real, p_fake = torch.sigmoid(REAL), torch.sigmoid(FAKE)
    ref = -(s * p_real.log() + (1 - s) * (1 - p_real).log()).mean() - (1 - p_fake).log().mean()
    assert torch.allclose(discriminator_loss(REAL, FAKE, s), ref, atol=1e-6)


def test_label_smoothing_is_one_sided():
    # Smoothing changes only the real term: the gap is the same whatever the fake logits are.
    gap = discriminator_loss(REAL, FAKE, 0.9) - discriminator_loss(REAL, FAKE)
    other_fake = torch.tensor([3.0, -4.0, 0.0, 1.0])
    assert torch.allclose(discriminator_loss(REAL, other_fake, 0.9) - discriminator_loss(REAL, other_fake), gap)
    # ... and the optimum D(x) moves from 1 to 0.9
    logits = torch.zeros(1, requires_grad=True)
    discriminator_loss(logits, FAKE, 0.9).backward()
    assert logits.grad.item() == pytest.approx(0.5 - 0.9)  # d/dl BCE = sigmoid(l) - target


@pytest.mark.parametrize("s", [0.0, 1.5])
def test_discriminator_loss_rejects_bad_smoothing(s):
    with pytest.raises(ValueError, match=r"real_target must be in \(0, 1\]"):
        discriminator_loss(REAL, FAKE, s)


def test_generator_loss_is_non_saturating():
    ref = -torch.sigmoid(FAKE).log().mean()
    assert torch.allclose(generator_loss(FAKE), ref, atol=1e-6)
    # where D rejects the samples with certainty the gradient stays near -1 per example (no saturation)
    logits = torch.tensor([-200.0, -50.0], requires_grad=True)
    loss = generator_loss(logits)
    loss.backward()
    assert torch.isfinite(loss) and loss.item() == pytest.approx(125.0)
    assert torch.allclose(logits.grad, torch.full((2,), -0.5))


def test_feature_matching_loss_reference():
    real = torch.tensor([[1.0, 2.0], [3.0, 4.0]])  # mean (2, 3)
    fake = torch.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])  # mean (1, 1); another batch size
    assert feature_matching_loss(real, fake).item() == pytest.approx(1.0**2 + 2.0**2)
    assert feature_matching_loss(real, real.flip(0)).item() == 0.0  # only the means matter
    maps = torch.rand(4, 2, 3, 3)
    assert torch.allclose(feature_matching_loss(maps, maps * 0), maps.mean(0).pow(2).sum())  # maps are flattened
    with pytest.raises(ValueError, match="same layer"):
        feature_matching_loss(torch.zeros(2, 3), torch.zeros(2, 4))


def test_historical_averaging_penalty_reference_and_gradient():
    w = torch.tensor([[1.0, -2.0]], requires_grad=True)
    b = torch.tensor([0.5], requires_grad=True)
    w_avg, b_avg = torch.tensor([[0.0, 0.0]]), torch.tensor([1.5])
    penalty = historical_averaging_penalty([w, b], [w_avg, b_avg])
    assert penalty.item() == pytest.approx(1 + 4 + 1)
    penalty.backward()
    assert torch.allclose(w.grad, 2 * (w - w_avg)) and torch.allclose(b.grad, 2 * (b - b_avg))
    with pytest.raises(ValueError, match="do not match"):
        historical_averaging_penalty([w], [w_avg, b_avg])
    with pytest.raises(ValueError, match="do not match"):
        historical_averaging_penalty([w], [b_avg])
