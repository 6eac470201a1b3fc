"""Pretext losses against hand-written references."""

import math

import pytest
import torch

from tenshot.losses import ab_regression_loss, pretext_classification, top1_accuracy


def test_pretext_classification_matches_a_hand_computed_cross_entropy():
    logits = torch.tensor([[2.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]])
    target = torch.tensor([0, 3])
    terms = pretext_classification(logits, target)
    expected = (-(2 - math.log(math.exp(2) + 3)) - (0 - math.log(math.e + 3))) / 2
    assert terms["loss"].item() == pytest.approx(expected, rel=1e-6)
    assert terms["pretext_acc"].item() == 0.5  # first right, second wrong


def test_pretext_classification_per_pixel():
    logits = torch.randn(2, 5, 3, 4)
    target = logits.argmax(1)
    terms = pretext_classification(logits, target)
    flat = pretext_classification(logits.permute(0, 2, 3, 1).reshape(-1, 5), target.reshape(-1))
    assert torch.allclose(terms["loss"], flat["loss"]) and terms["pretext_acc"] == 1.0
    with pytest.raises(ValueError, match="do not match"):
        pretext_classification(logits, target[:, :2])


def test_top1_accuracy_rejects_shapes_that_do_not_pair():
    assert top1_accuracy(torch.tensor([[0.0, 1.0], [3.0, 1.0]]), torch.tensor([1, 1])).item() == 0.5
    with pytest.raises(ValueError, match="do not match"):
        top1_accuracy(torch.randn(4, 3), torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match="do not match"):
        top1_accuracy(torch.randn(4), torch.zeros(4, dtype=torch.long))


def test_ab_regression_loss_is_the_mean_squared_ab_distance():
    pred = torch.zeros(1, 2, 1, 2)
    target = torch.tensor([[[[3.0, 0.0]], [[4.0, 1.0]]]])  # pixel 1 at distance 5, pixel 2 at distance 1
    assert ab_regression_loss(pred, target).item() == pytest.approx((25 + 1) / 2)
    with pytest.raises(ValueError, match=r"\(N, 2, H, W\)"):
        ab_regression_loss(torch.zeros(1, 3, 1, 1), torch.zeros(1, 3, 1, 1))
