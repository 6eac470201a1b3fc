import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tenshot import Pretrainer
from tenshot.config import TrainConfig
from tenshot.errors import ConfigError
from tenshot.losses import nt_xent
from tenshot.methods.exemplar import Exemplar, ExemplarConfig
from tenshot.methods.simclr import SimCLR, SimCLRConfig
from tenshot.nn.augment import AugmentOptions, build_augmentation
from tenshot.training import fit

TINY = dict(encoder="mlp", hidden=(64,), latent_dim=32, crop_scale=(0.5, 1.0))


def smooth_images(n: int = 32, shape=(1, 8, 8), seed: int = 0) -> torch.Tensor:
    """Random coarse patterns: each image is told apart by its layout, which survives a crop."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, shape[0], 3, 3, generator=g)
    return F.interpolate(coarse, size=shape[1:], mode="bilinear", align_corners=True)


def train_config(**kw) -> TrainConfig:
    return TrainConfig(**{"epochs": 40, "batch_size": 16, "lr": 3e-3, "accelerator": "cpu", "devices": "1", "progress": False, **kw})


def mean_pretext_acc(method, x: torch.Tensor, draws: int = 20) -> float:
    """The pretext accuracy over many random views (eval mode, fixed seed)."""
    method.eval()
    torch.manual_seed(123)
    with torch.no_grad():
        return sum(method.losses(x)["pretext_acc"].item() for _ in range(draws)) / draws


# --- augmentations -----------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 12, 12), (3, 32, 32)])
def test_augmentation_changes_the_batch_and_keeps_shape_and_range(shape):
    augment = AugmentOptions(blur_p=0.5).augmentation(shape)
    x = torch.rand(16, *shape)
    out = augment(x)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert out.min() >= 0 and out.max() <= 1
    assert not torch.allclose(out, x)
    same = augment(x[:1].expand(8, *shape).contiguous())  # new parameters for every image
    assert not torch.allclose(same[0], same[1])
    assert list(augment.state_dict()) == []  # nothing to save with the model


def test_augmentation_is_repeatable_with_a_seed():
    augment = build_augmentation((3, 12, 12), blur_p=0.5)
    x = torch.rand(8, 3, 12, 12)
    torch.manual_seed(0)
    a = augment(x)
    torch.manual_seed(0)
    b = augment(x)
    torch.manual_seed(1)
    c = augment(x)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_gray_gets_no_colour_and_everything_off_is_the_identity():
    gray = build_augmentation((1, 8, 8), jitter=1.0)
    rgb = build_augmentation((3, 8, 8), jitter=1.0)
    (jitter,) = [m for m in gray.modules() if type(m).__name__ == "ColorJitter"]
    assert (jitter.brightness, jitter.contrast, jitter.saturation, jitter.hue) == (0.8, 0.8, 0.0, 0.0)
    assert not any(type(m).__name__ == "RandomGrayscale" for m in gray.modules())
    assert any(type(m).__name__ == "RandomGrayscale" for m in rgb.modules())
    x = torch.rand(4, 1, 8, 8)
    assert torch.equal(build_augmentation((1, 8, 8), crop_scale=(1.0, 1.0), flip=False, jitter=0.0)(x), x)


def test_augment_options_are_checked():
    with pytest.raises(ConfigError, match="crop_scale"):
        AugmentOptions.from_dict(crop_scale=(0.5,))
    with pytest.raises(ConfigError, match="crop_scale"):
        AugmentOptions.from_dict(crop_scale=(0.9, 0.2))
    with pytest.raises(ConfigError, match="jitter_p is a probability"):
        AugmentOptions.from_dict(jitter_p=1.5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_augmentation_stays_on_the_batch_device():
    x = torch.rand(8, 3, 12, 12, device="cuda")
    assert build_augmentation((3, 12, 12), blur_p=0.5)(x).device == x.device


# --- SimCLR ------------------------------------------------------------------------------
def test_simclr_objective_is_nt_xent_of_the_two_views():
    method = SimCLR(SimCLRConfig(**TINY, temperature=0.3), (1, 8, 8))
    method.augmentation = nn.Identity()  # both views = the image: the loss must be NT-Xent(z, z)
    x = smooth_images(6)
    terms = method.losses(x)
    z = method.project(x)
    assert torch.allclose(terms["loss"], nt_xent(z, z, 0.3), atol=1e-6)
    assert terms["pretext_acc"].item() == 1.0  # identical views always find each other


def test_simclr_training_raises_pretext_accuracy_above_chance():
    x = smooth_images(32)
    torch.manual_seed(0)
    method = SimCLR(SimCLRConfig(**TINY), (1, 8, 8))
    before = mean_pretext_acc(method, x)
    record = fit(method, x, train_config())
    after = mean_pretext_acc(method, x)
    chance = 1 / (2 * len(x) - 1)
    assert "pretext_acc" in record["final"]
    assert after > 10 * chance and after > before + 0.1, (before, after)


def test_held_out_pretext_accuracy_is_seeded_and_leaves_the_random_stream_alone():
    method = SimCLR(SimCLRConfig(**TINY), (1, 8, 8), train_config(batch_size=8))
    x = smooth_images(20, seed=3)
    state = torch.get_rng_state()
    first = method.test_metrics(x)
    assert torch.equal(torch.get_rng_state(), state)
    assert first == method.test_metrics(x) and 0.0 <= first["test_pretext_acc"] <= 1.0
    assert Exemplar(ExemplarConfig(**TINY, n_exemplars=4), (1, 8, 8)).test_metrics(x) == {}  # no held-out classes


def test_features_layers_or_code():
    x = smooth_images(3)
    layers = SimCLR(SimCLRConfig(latent_dim=8, width=4), (1, 8, 8))
    code = SimCLR(SimCLRConfig(latent_dim=8, width=4, features="code"), (1, 8, 8))
    assert layers.features(x).shape == (3, 4 * 4 * 4 + 8 * 2 * 2 + 8)
    assert code.features(x).shape == (3, 8)  # the representation under the projection head


def test_conv_encoder_with_batch_norm_and_depth_keeps_feature_sizes_and_saves_its_statistics(tmp_path):
    x = smooth_images(32)
    plain = SimCLR(SimCLRConfig(latent_dim=8, width=4), (1, 8, 8))
    deep = SimCLR(SimCLRConfig(latent_dim=8, width=4, batch_norm=True, depth=2), (1, 8, 8))
    assert deep.features(x).shape == plain.features(x).shape
    assert sum(isinstance(m, nn.BatchNorm2d) for m in deep.encoder.modules()) == 3  # every conv but the first
    assert sum(isinstance(m, nn.Conv2d) for m in deep.encoder.modules()) == 4
    options = dict(TINY, encoder="conv", width=4, batch_norm=True, depth=2)
    rep = Pretrainer("simclr", epochs=1, batch_size=16, accelerator="cpu", **options).fit(x.numpy())
    rep.save(tmp_path / "run")
    back = Pretrainer.load(tmp_path / "run")
    key = "encoder.blocks.1.1.running_mean"  # batch norm's statistics travel with the weights
    assert rep.model.state_dict()[key].abs().sum() > 0
    assert torch.equal(back.model.state_dict()[key], rep.model.state_dict()[key])
    np.testing.assert_allclose(back.transform(x.numpy()), rep.transform(x.numpy()), rtol=1e-6)


# --- Exemplar-CNN ------------------------------------------------------------------------
def test_exemplar_draws_seeds_from_training_data_with_the_run_seed():
    x = smooth_images(32)
    chosen = []
    for seed in (0, 0, 1):
        method = Exemplar(ExemplarConfig(**TINY, n_exemplars=8), (1, 8, 8))
        fit(method, x, train_config(epochs=1, seed=seed))
        assert bool(method.chosen)
        assert all((x == e).flatten(1).all(1).any() for e in method.exemplars)  # each seed is a training image
        chosen.append(method.exemplars.clone())
    assert torch.equal(chosen[0], chosen[1]) and not torch.equal(chosen[0], chosen[2])


def test_exemplar_training_learns_the_surrogate_classes():
    x = smooth_images(32)
    torch.manual_seed(0)
    method = Exemplar(ExemplarConfig(**TINY, n_exemplars=8), (1, 8, 8))
    record = fit(method, x, train_config())
    assert "pretext_acc" in record["final"]
    assert mean_pretext_acc(method, x) > 2 * (1 / 8)


def test_exemplar_needs_enough_training_images():
    method = Exemplar(ExemplarConfig(**TINY, n_exemplars=50), (1, 8, 8))
    with pytest.raises(ConfigError, match="n_exemplars=32 or fewer"):
        fit(method, smooth_images(32), train_config(epochs=1))


# --- persistence and configs -------------------------------------------------------------
@pytest.mark.parametrize("method, extra", [("simclr", {}), ("exemplar", {"n_exemplars": 8})])
def test_save_load_round_trip(tmp_path, method, extra):
    x = smooth_images(32).numpy()
    rep = Pretrainer(method, epochs=1, batch_size=16, accelerator="cpu", **TINY, **extra).fit(x)
    rep.save(tmp_path / "run")
    back = Pretrainer.load(tmp_path / "run")
    np.testing.assert_allclose(back.transform(x), rep.transform(x), rtol=1e-6)
    saved, loaded = rep.model.state_dict(), back.model.state_dict()
    assert saved.keys() == loaded.keys() and all(torch.equal(saved[k], loaded[k]) for k in saved)
    if method == "exemplar":  # the surrogate classes travel with the weights
        assert {"exemplars", "chosen"} <= set(loaded) and bool(back.model.chosen)


@pytest.mark.parametrize("method, config_cls", [("simclr", SimCLRConfig), ("exemplar", ExemplarConfig)])
def test_unknown_or_bad_options_are_rejected(method, config_cls):
    with pytest.raises(ConfigError, match="unknown option.*temprature"):
        config_cls.from_dict(temprature=0.1)
    with pytest.raises(ConfigError, match="unknown option"):
        Pretrainer(method, temprature=0.1).fit(smooth_images(4).numpy())
    with pytest.raises(ConfigError, match="rotate is in degrees"):
        config_cls.from_dict(rotate=-5.0)
    with pytest.raises(ConfigError, match="shape the conv encoder"):
        config_cls.from_dict(encoder="mlp", depth=2)


def test_temperature_must_be_positive():
    with pytest.raises(ConfigError, match="temperature must be positive"):
        SimCLRConfig.from_dict(temperature=0.0)
