"""One training step of every registered method on dummy data (solo-learn's smoke test),
through the real engine so that methods owning their update (GANs) are covered too."""

import pytest
import torch

from tenshot.config import TrainConfig
from tenshot.registry import METHODS
from tenshot.training import fit

# Tiny configurations: a registered method without an entry runs with its defaults.
SMALL = {
    "autoencoder": {"latent_dim": 8, "width": 4},
    "sparse-ae": {"latent_dim": 16, "width": 4},
    "denoising-ae": {"latent_dim": 8, "width": 4},
    "stacked-ae": {"layers": (16, 8)},
    "rbm": {"n_hidden": 8, "n_chains": 6, "sample_steps": 10},
    "dbn": {"layers": (8, 4), "n_chains": 6, "sample_steps": 10},
    "vae": {"latent_dim": 4, "width": 4, "ll_samples": 2},
    "beta-vae": {"latent_dim": 4, "width": 4, "ll_samples": 2},
    "ssgan": {"n_classes": 3, "hidden": (16, 8), "g_hidden": (8,), "width": 4, "latent_dim": 4},
    "ssae": {"latent_dim": 8, "width": 4, "n_classes": 3},
    "ssvae": {"latent_dim": 4, "width": 4, "n_classes": 3, "ll_samples": 2},
}


@pytest.mark.parametrize("name", list(METHODS))
@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 12, 12)])
def test_one_step_and_features(name, shape):
    method_cls, config_cls = METHODS[name]
    train = TrainConfig(epochs=1, batch_size=6, accelerator="cpu", devices="1", progress=False)
    torch.manual_seed(0)
    method = method_cls(config_cls.from_dict(SMALL.get(name, {})), shape, train)
    x = torch.rand(6, *shape)
    before = [p.detach().clone() for p in method.parameters()]
    # Semi-supervised methods also get labeled batches (3 classes, 2 labels each).
    labeled = (x[:6], torch.tensor([0, 1, 2, 0, 1, 2])) if getattr(method_cls, "needs_labels", False) else None
    record = fit(method, x, train, labeled=labeled)  # epochs=1 per stage: greedy methods take one step per stage
    assert record["epochs"] >= 1 and record["final"], "the step must log its loss terms"
    assert all(v == v for v in record["final"].values() if isinstance(v, float)), "finite losses"
    assert any(not torch.equal(a, b) for a, b in zip(before, method.parameters())), "a step must change weights"
    z = method.features(x)
    assert z.ndim == 2 and len(z) == 6 and torch.isfinite(z).all()
