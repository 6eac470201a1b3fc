import math

import pytest
import torch
import torch.nn.functional as F

from tenshot.losses import nt_xent, nt_xent_logits, top1_accuracy


def reference_nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> float:
    """SimCLR's eq. 1 written out with loops: l(i, j) = -log exp(s_ij / t) / sum_{k != i} exp(s_ik / t)."""
    z = torch.cat([z1, z2]).double()
    n = len(z1)
    total = 0.0
    for i in range(2 * n):
        j = (i + n) % (2 * n)
        sims = [F.cosine_similarity(z[i], z[k], dim=0).item() / temperature for k in range(2 * n)]
        denominator = sum(math.exp(s) for k, s in enumerate(sims) if k != i)
        total += -math.log(math.exp(sims[j]) / denominator)
    return total / (2 * n)


@pytest.mark.parametrize("temperature", [0.1, 0.5, 1.0])
def test_nt_xent_matches_the_papers_formula(temperature):
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(5, 7, generator=g), torch.randn(5, 7, generator=g)
    assert nt_xent(z1, z2, temperature).item() == pytest.approx(reference_nt_xent(z1, z2, temperature), rel=1e-5)


def test_nt_xent_is_low_for_equal_views_and_near_log_2n_minus_1_for_random_ones():
    n = 8
    distinct = torch.eye(n, 16)  # n orthogonal projections: every negative has similarity 0
    low = nt_xent(distinct, distinct, temperature=0.1)
    assert low.item() == pytest.approx(-math.log(math.exp(10) / (math.exp(10) + 2 * n - 2)), rel=1e-4)
    assert low < 0.01
    g = torch.Generator().manual_seed(0)
    # independent views in high dimension: all cosines ~ 0, so no candidate stands out
    z1, z2 = torch.randn(n, 4096, generator=g), torch.randn(n, 4096, generator=g)
    assert nt_xent(z1, z2, temperature=0.5).item() == pytest.approx(math.log(2 * n - 1), abs=0.05)


def test_nt_xent_is_symmetric_scale_free_and_sharper_at_low_temperature():
    g = torch.Generator().manual_seed(1)
    z1 = torch.randn(6, 5, generator=g)
    z2 = z1 + 0.1 * torch.randn(6, 5, generator=g)  # views that agree
    assert torch.allclose(nt_xent(z1, z2), nt_xent(z2, z1), atol=1e-6)
    assert torch.allclose(nt_xent(3.0 * z1, 0.5 * z2), nt_xent(z1, z2), atol=1e-5)  # cosine: length does not count
    losses = [nt_xent(z1, z2, t).item() for t in (1.0, 0.5, 0.1)]
    assert losses[0] > losses[1] > losses[2]  # when the twin is the nearest, a lower temperature trusts it more


def test_logits_mask_self_and_point_at_twin():
    z = torch.randn(3, 4)
    logits, targets = nt_xent_logits(z, z.clone(), 0.5)
    assert logits.shape == (6, 6) and torch.isinf(logits.diagonal()).all()
    assert targets.tolist() == [3, 4, 5, 0, 1, 2]
    assert torch.allclose(F.cross_entropy(logits, targets), nt_xent(z, z.clone(), 0.5))


def test_pretext_accuracy_on_a_constructed_case():
    e = torch.eye(3)
    z1 = torch.stack([e[0], e[1], e[2]])
    z2 = torch.stack([e[0], e[1], e[0] + 0.5 * e[2]])
    # Every view finds its twin, except the last: e0 + 0.5 e2 is closer to the two e0 views
    # (cos 0.89) than to its twin e2 (cos 0.45).
    logits, targets = nt_xent_logits(z1, z2, 0.5)
    assert top1_accuracy(logits, targets).item() == pytest.approx(5 / 6)
    assert top1_accuracy(torch.tensor([[0.1, 2.0], [3.0, -1.0], [0.0, 1.0]]), torch.tensor([1, 0, 0])).item() == pytest.approx(2 / 3)


def test_bad_calls_say_what_to_fix():
    with pytest.raises(ValueError, match="same shape"):
        nt_xent(torch.zeros(3, 4), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="temperature must be positive"):
        nt_xent(torch.ones(2, 4), torch.ones(2, 4), temperature=0.0)
    with pytest.raises(ValueError, match=r"\(B, K\)"):
        top1_accuracy(torch.zeros(3), torch.zeros(3, dtype=torch.long))
