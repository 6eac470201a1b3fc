import itertools

import numpy as np
import pytest
import torch
from sklearn.neural_network import BernoulliRBM

from tenshot.losses.rbm import contrastive_divergence_loss, free_energy, pseudo_log_likelihood


def tiny_rbm(d=3, h=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(h, d, generator=g), torch.randn(d, generator=g), torch.randn(h, generator=g)


def energy(v, hid, w, b, c):
    """E(v, h) = -b.v - c.h - h.W v for one v (D,) and one h (H,)."""
    return -(b @ v) - (c @ hid) - hid @ w @ v


def all_states(n):
    return [torch.tensor(s, dtype=torch.float32) for s in itertools.product([0.0, 1.0], repeat=n)]


def brute_force_free_energy(v, w, b, c):
    """-log sum over all 2^H hidden states of exp(-E(v, h)), one row of v at a time."""
    return torch.stack([
        -torch.logsumexp(torch.stack([-energy(row, hid, w, b, c) for hid in all_states(w.shape[0])]), 0) for row in v
    ])


def test_free_energy_matches_sum_over_hidden_states():
    w, b, c = tiny_rbm()
    v = torch.stack(all_states(3) + [torch.tensor([0.2, 0.5, 0.9])])  # binary and gray visible states
    assert torch.allclose(free_energy(v, w, b, c), brute_force_free_energy(v, w, b, c), atol=1e-5)
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        free_energy(torch.zeros(2, 4), w, b, c)
    with pytest.raises(ValueError, match="visible_bias"):
        free_energy(torch.zeros(2, 3), w, c, c)


def test_cd_loss_value_and_gradient_is_the_cd_update():
    w, b, c = (t.requires_grad_() for t in tiny_rbm())
    g = torch.Generator().manual_seed(1)
    v_data = torch.rand(5, 3, generator=g)
    v_model = torch.bernoulli(torch.full((4, 3), 0.5), generator=g).requires_grad_()  # M != N is allowed
    loss = contrastive_divergence_loss(v_data, v_model, w, b, c)
    ref = brute_force_free_energy(v_data, w, b, c).mean() - brute_force_free_energy(v_model, w, b, c).mean()
    assert loss.item() == pytest.approx(ref.item(), abs=1e-5)
    loss.backward()
    with torch.no_grad():  # Hinton 2002: dW = <p(h|v) v^T>_data - <p(h|v) v^T>_model; the loss's gradient is minus it
        h_data, h_model = torch.sigmoid(v_data @ w.T + c), torch.sigmoid(v_model @ w.T + c)
        dw = h_data.T @ v_data / 5 - h_model.T @ v_model / 4
        db = v_data.mean(0) - v_model.mean(0)
        dc = h_data.mean(0) - h_model.mean(0)
    assert torch.allclose(w.grad, -dw, atol=1e-6)
    assert torch.allclose(b.grad, -db, atol=1e-6)
    assert torch.allclose(c.grad, -dc, atol=1e-6)
    assert v_model.grad is None  # the model samples are constants of the update


def exact_pseudo_log_likelihood(v, w, b, c):
    """sum_i log p(v_i | v_-i) from the unnormalised joint p(v) = sum_h exp(-E(v, h))."""
    def p_tilde(row):
        return torch.exp(-brute_force_free_energy(row[None], w, b, c))[0]

    out = []
    for row in v:
        total = 0.0
        for i in range(len(row)):
            flipped = row.clone()
            flipped[i] = 1 - flipped[i]
            total += torch.log(p_tilde(row) / (p_tilde(row) + p_tilde(flipped)))
        out.append(total)
    return torch.stack(out)


def test_pseudo_log_likelihood_exact_and_stochastic():
    w, b, c = tiny_rbm()
    v = torch.stack(all_states(3))
    exact = pseudo_log_likelihood(v, w, b, c)
    assert torch.allclose(exact, exact_pseudo_log_likelihood(v, w, b, c), atol=1e-5)
    # One unit per example, scaled by D: averaging that over every unit gives the exact sum.
    singles = torch.stack([pseudo_log_likelihood(v, w, b, c, torch.full((8, 1), i)) for i in range(3)])
    assert torch.allclose(singles.mean(0), exact, atol=1e-5)
    assert torch.allclose(pseudo_log_likelihood(v, w, b, c, torch.tensor([[0, 1, 2]] * 8)), exact, atol=1e-5)
    with pytest.raises(ValueError, match="indices"):
        pseudo_log_likelihood(v, w, b, c, torch.zeros(8, dtype=torch.long))


def test_pseudo_log_likelihood_gray_levels_are_soft_targets():
    w, b, c = tiny_rbm()
    v = torch.tensor([[0.3, 1.0, 0.0]])
    lo, hi = v.clone(), v.clone()
    lo[0, 0], hi[0, 0] = 0.0, 1.0
    logit = free_energy(lo, w, b, c) - free_energy(hi, w, b, c)  # log p(v_0 = 1 | rest) / p(v_0 = 0 | rest)
    ref = 3 * (0.3 * torch.nn.functional.logsigmoid(logit) + 0.7 * torch.nn.functional.logsigmoid(-logit))
    assert torch.allclose(pseudo_log_likelihood(v, w, b, c, torch.tensor([[0]])), ref, atol=1e-6)


def test_pseudo_log_likelihood_matches_sklearn_score_samples():
    w, b, c = tiny_rbm(d=6, h=4, seed=2)
    v = torch.bernoulli(torch.full((10, 6), 0.5), generator=torch.Generator().manual_seed(3))
    rbm = BernoulliRBM(n_components=4, random_state=7)
    rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_ = (t.double().numpy() for t in (w, b, c))
    index = np.random.RandomState(7).randint(0, 6, 10)  # the unit sklearn flips for each row
    ours = pseudo_log_likelihood(v.double(), w.double(), b.double(), c.double(), torch.from_numpy(index)[:, None])
    assert np.allclose(ours.numpy(), rbm.score_samples(v.double().numpy()), atol=1e-8)
