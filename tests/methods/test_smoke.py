"""One training step of every registered method on dummy data (solo-learn's smoke test)."""

import pytest
import torch

from tenshot.config import TrainConfig
from tenshot.registry import METHODS

SMALL = {
    "autoencoder": {"latent_dim": 8, "width": 4},
    "sparse-ae": {"latent_dim": 16, "width": 4},
    "denoising-ae": {"latent_dim": 8, "width": 4},
    "stacked-ae": {"layers": (16, 8)},
}


@pytest.mark.parametrize("name", list(METHODS))
@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 12, 12)])
def test_one_step_and_features(name, shape):
    method_cls, config_cls = METHODS[name]
    torch.manual_seed(0)
    method = method_cls(config_cls.from_dict(SMALL.get(name, {})), shape, TrainConfig())
    method.total_epochs(1)
    x = torch.rand(6, *shape)
    optimizers = method.configure_optimizers()
    opt = optimizers[0] if isinstance(optimizers, (list, tuple)) else optimizers
    before = [p.detach().clone() for p in method.parameters()]
    method.train()
    terms = method.losses(x)
    assert torch.isfinite(terms["loss"])
    opt.zero_grad()
    terms["loss"].backward()
    opt.step()
    assert any(not torch.equal(a, b) for a, b in zip(before, method.parameters())), "a step must change weights"
    z = method.features(x)
    assert z.ndim == 2 and len(z) == 6 and torch.isfinite(z).all()
