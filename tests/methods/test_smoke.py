"""One training step of every registered method on dummy data (solo-learn's smoke test),
through the real engine so that methods owning their update (GANs) are covered too."""

import pytest
import torch

from tenshot.config import TrainConfig
from tenshot.registry import METHODS
from tenshot.training import fit

# The same step on CUDA where a GPU is present (CI has none: skipped there).
ON_GPU = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

# Tiny configurations: a registered method without an entry runs with its defaults.
SMALL = {
    "autoencoder": {"latent_dim": 8, "width": 4},
    "sparse-ae": {"latent_dim": 16, "width": 4},
    "denoising-ae": {"latent_dim": 8, "width": 4},
    "stacked-ae": {"layers": (16, 8)},
    "wta-ae": {"width": 4, "decoder_kernel": 5, "lifetime": 0.5},
    "rbm": {"n_hidden": 8, "n_chains": 6, "sample_steps": 10},
    "dbn": {"layers": (8, 4), "n_chains": 6, "sample_steps": 10},
    "vae": {"latent_dim": 4, "width": 4, "ll_samples": 2},
    "beta-vae": {"latent_dim": 4, "width": 4, "ll_samples": 2},
    "ssgan": {"n_classes": 3, "hidden": (16, 8), "g_hidden": (8,), "width": 4, "latent_dim": 4},
    "ssae": {"latent_dim": 8, "width": 4, "n_classes": 3},
    "ssvae": {"latent_dim": 4, "width": 4, "n_classes": 3, "ll_samples": 2},
    "s4l": {"latent_dim": 8, "width": 4, "n_classes": 3},
    "simclr": {"latent_dim": 8, "width": 4, "proj_hidden": 8, "proj_dim": 4},
    "exemplar": {"latent_dim": 8, "width": 4, "n_exemplars": 4},
    "rotation": {"latent_dim": 8, "width": 4},
    "context": {"latent_dim": 8, "width": 4},
    "colorization": {"latent_dim": 8, "width": 4, "bin_size": 20},
}


@pytest.mark.parametrize("name", list(METHODS))
@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 12, 12)])
@pytest.mark.parametrize("accelerator", ["cpu", pytest.param("gpu", marks=ON_GPU)])
def test_one_step_and_features(name, shape, accelerator):
    method_cls, config_cls = METHODS[name]
    if getattr(method_cls, "needs_rgb", False) and shape[0] != 3:
        pytest.skip(f"{name} refuses gray images (tested in its own tests)")
    train = TrainConfig(epochs=1, batch_size=6, accelerator=accelerator, devices="1", progress=False)
    torch.manual_seed(0)
    method = method_cls(config_cls.from_dict(SMALL.get(name, {})), shape, train)
    x = torch.rand(6, *shape)
    before = [p.detach().clone() for p in method.parameters()]
    # Semi-supervised methods also get labeled batches (3 classes, 2 labels each).
    labeled = (x[:6], torch.tensor([0, 1, 2, 0, 1, 2])) if getattr(method_cls, "needs_labels", False) else None
    record = fit(method, x, train, labeled=labeled)  # epochs=1 per stage: greedy methods take one step per stage
    assert record["epochs"] >= 1 and record["final"], "the step must log its loss terms"
    assert all(v == v for v in record["final"].values() if isinstance(v, float)), "finite losses"
    assert any(not torch.equal(a, b.detach().cpu()) for a, b in zip(before, method.parameters())), "a step must change weights"
    z = method.features(x)
    assert z.ndim == 2 and len(z) == 6 and torch.isfinite(z).all()
