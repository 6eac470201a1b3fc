"""The K+1-class GAN losses against an explicit (K+1)-way softmax whose extra logit is 0."""

import pytest
import torch
import torch.nn.functional as F

from tenshot.losses.semisup_gan import (
    consistency_loss,
    manifold_penalty,
    real_logit,
    supervised_loss,
    unsupervised_loss,
)


def k_plus_one_probs(logits: torch.Tensor) -> torch.Tensor:
    """(N, K) -> (N, K+1): the softmax over the K logits and a fake-class logit of 0, in float64."""
    full = torch.cat([logits.double(), torch.zeros(len(logits), 1, dtype=torch.float64)], dim=1)
    return torch.softmax(full, dim=1)


@pytest.fixture
def logits():
    torch.manual_seed(0)
    return torch.randn(7, 4) * 2, torch.randn(5, 4) * 2  # unlabeled / labeled, and generated (M != N)


def test_real_logit_gives_d_of_x_as_one_minus_the_fake_class(logits):
    unl, _ = logits
    p = k_plus_one_probs(unl)
    z = unl.double().exp().sum(1)
    assert real_logit(unl).shape == (7,)
    assert torch.allclose(torch.sigmoid(real_logit(unl)).double(), 1 - p[:, -1], atol=1e-6)
    assert torch.allclose(torch.sigmoid(real_logit(unl)).double(), z / (z + 1), atol=1e-6)


def test_supervised_loss_is_the_class_log_likelihood_given_real(logits):
    lab, _ = logits
    y = torch.tensor([0, 3, 1, 2, 2, 0, 1])
    p = k_plus_one_probs(lab)
    # -log p(y | x, y < K+1) = -log p(y | x) + log(1 - p(K+1 | x))
    reference = (-p[torch.arange(7), y].log() + (1 - p[:, -1]).log()).mean()
    assert torch.allclose(supervised_loss(lab, y).double(), reference, atol=1e-6)


def test_unsupervised_loss_is_the_gan_loss_of_the_fake_class(logits):
    unl, fake = logits
    p_unl, p_fake = k_plus_one_probs(unl), k_plus_one_probs(fake)
    # -E log(1 - p(K+1 | x)) - E log p(K+1 | G(z))   (Salimans et al. 2016, sec. 5)
    reference = -(1 - p_unl[:, -1]).log().mean() - p_fake[:, -1].log().mean()
    assert torch.allclose(unsupervised_loss(unl, fake).double(), reference, atol=1e-6)


def test_losses_stay_finite_and_exact_for_extreme_logits():
    unl = torch.tensor([[500.0, -500.0, 0.0], [-500.0, -500.0, -500.0]])
    fake = torch.tensor([[500.0, 400.0, 0.0], [-500.0, -500.0, -400.0]])
    loss = unsupervised_loss(unl, fake)
    # by hand: softplus(t) - t = softplus(-t): [softplus(-500) ~ 0, softplus(500 - log 3) ~ 500 - log 3] -> mean;
    # fake: [softplus(500) ~ 500, softplus(-400) ~ 0] -> mean
    expected = (500 - torch.log(torch.tensor(3.0))) / 2 + 500 / 2
    assert torch.isfinite(loss) and torch.allclose(loss, expected, atol=1e-3)
    assert torch.isfinite(supervised_loss(unl, torch.tensor([1, 0])))


def test_gradients_match_the_explicit_softmax(logits):
    unl, fake = (t.clone().requires_grad_() for t in logits)
    unsupervised_loss(unl, fake).backward()
    ref_unl, ref_fake = (t.detach().clone().double().requires_grad_() for t in logits)
    p_unl, p_fake = k_plus_one_probs(ref_unl), k_plus_one_probs(ref_fake)
    (-(1 - p_unl[:, -1]).log().mean() - p_fake[:, -1].log().mean()).backward()
    assert torch.allclose(unl.grad.double(), ref_unl.grad, atol=1e-6)
    assert torch.allclose(fake.grad.double(), ref_fake.grad, atol=1e-6)


def test_manifold_penalty_is_the_mean_squared_logit_change_per_pair(logits):
    a, b = logits[0][:5], logits[1]
    reference = sum(sum((a[i, k] - b[i, k]).item() ** 2 for k in range(4)) for i in range(5)) / 5
    assert manifold_penalty(a, b).item() == pytest.approx(reference, rel=1e-6)
    assert manifold_penalty(a, a).item() == 0.0
    # a shift of every logit leaves the classifier's softmax alone but not the penalty on logits
    assert manifold_penalty(a, a + 1).item() == pytest.approx(4.0)


def test_consistency_loss_is_the_squared_distance_of_class_probabilities_with_a_fixed_teacher(logits):
    student = logits[0][:5].clone().requires_grad_()
    teacher = logits[1].clone().requires_grad_()
    p, q = student.detach().softmax(1).tolist(), teacher.detach().softmax(1).tolist()
    reference = sum(sum((p[i][k] - q[i][k]) ** 2 for k in range(4)) for i in range(5)) / 5
    loss = consistency_loss(student, teacher)
    assert loss.item() == pytest.approx(reference, rel=1e-6)
    loss.backward()
    assert teacher.grad is None and student.grad.abs().sum() > 0  # only the student learns
    # on probabilities, unlike the manifold penalty: shifting every logit changes nothing
    assert consistency_loss(student, student + 1).item() == pytest.approx(0.0, abs=1e-12)
    # bounded by 2 however confident the two disagree
    assert consistency_loss(torch.tensor([[50.0, 0.0]]), torch.tensor([[0.0, 50.0]])).item() == pytest.approx(2.0)


def test_supervised_loss_is_plain_cross_entropy_over_k(logits):
    lab, _ = logits
    y = torch.tensor([1, 1, 0, 3, 2, 2, 0])
    assert torch.equal(supervised_loss(lab, y), F.cross_entropy(lab, y))


@pytest.mark.parametrize("call, message", [
    (lambda: real_logit(torch.zeros(4)), r"shape \(N, K\)"),
    (lambda: real_logit(torch.zeros(4, 1)), "K >= 2"),
    (lambda: supervised_loss(torch.zeros(4, 3), torch.zeros(3, dtype=torch.long)), "one entry per row"),
    (lambda: unsupervised_loss(torch.zeros(4, 3), torch.zeros(4, 5)), "same number of classes"),
    (lambda: manifold_penalty(torch.zeros(4, 3), torch.zeros(5, 3)), "pair row by row"),
    (lambda: consistency_loss(torch.zeros(4, 3), torch.zeros(4, 2)), "pair row by row"),
])
def test_shape_errors_say_what_to_pass(call, message):
    with pytest.raises(ValueError, match=message):
        call()
