import pytest
import torch
import torch.nn.functional as F
from torch import nn

import tenshot.methods.gan as gan_module
from tenshot.config import TrainConfig
from tenshot.errors import ConfigError, TrainingError
from tenshot.methods.gan import DCGAN, GAN
from tenshot.methods.rotation import rotations
from tenshot.nn.encoders import pooled_features
from tenshot.nn.gan import HistoricalAverage, VirtualBatchNorm
from tenshot.training import fit

TINY = {GAN: {"latent_dim": 4, "hidden": (16, 8)}, DCGAN: {"latent_dim": 4, "width": 4, "n_blocks": 2, "kernel": 3}}
ONE_STEP = TrainConfig(epochs=1, batch_size=6, accelerator="cpu", devices="1", progress=False)
TECHNIQUES = {
    "plain": {},
    "feature_matching": {"feature_matching": True},
    "minibatch_discrimination": {"minibatch_discrimination": True},
    "historical_averaging": {"historical_averaging": 0.1},
    "label_smoothing": {"label_smoothing": 0.9},
    "virtual_batchnorm": {"virtual_batchnorm": True},
    "rotation_loss": {"rotation_loss": 1.0},  # the self-supervised GAN of Chen et al. 2019
}
TECHNIQUES["all"] = {k: v for options in TECHNIQUES.values() for k, v in options.items()}


def make(cls, shape=(1, 8, 8), train=ONE_STEP, **options):
    torch.manual_seed(0)
    return cls(cls.Config.from_dict({**TINY[cls], **options}), shape, train)


@pytest.mark.parametrize("cls", [GAN, DCGAN])
@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 12, 12)])
@pytest.mark.parametrize("technique", list(TECHNIQUES))
def test_one_step_moves_both_players(cls, shape, technique):
    gan = make(cls, shape, **TECHNIQUES[technique])
    x = torch.rand(6, *shape)
    before = {n: p.detach().clone() for n, p in gan.named_parameters()}
    final = fit(gan, x, ONE_STEP)["final"]
    rotation = "rotation_loss" in TECHNIQUES[technique]
    expected = {"loss", "d_loss", "g_loss", "d_real", "d_fake"}
    expected |= {"d_rotation_loss", "d_rotation_acc", "g_rotation_loss", "g_rotation_acc"} if rotation else set()
    assert expected <= set(final)
    assert all(isinstance(v, float) and torch.isfinite(torch.tensor(v)) for v in final.values())
    changed = {n.split(".")[0] for n, p in gan.named_parameters() if not torch.equal(before[n], p)}
    assert changed == {"generator", "discriminator"} | ({"rotation_head"} if rotation else set())
    feats = gan.features(x)
    assert feats.ndim == 2 and len(feats) == 6 and torch.isfinite(feats).all()


@pytest.mark.parametrize("shape, depth", [((1, 8, 8), 1), ((3, 12, 12), 1), ((1, 28, 28), 1), ((1, 28, 28), 2)])
def test_dcgan_features_are_every_conv_layer_max_pooled_to_4x4(shape, depth):
    gan = make(DCGAN, shape, n_blocks=3, depth=depth)
    x = torch.rand(3, *shape)
    feats = gan.features(x)
    with torch.no_grad():
        gan.eval()
        maps = gan.discriminator.features(x * 2 - 1)
    assert len(maps) == 3 and all(m.dim() == 4 for m in maps)
    assert torch.equal(feats, pooled_features(maps))
    assert feats.shape[1] == sum(m.shape[1] * min(4, m.shape[2]) * min(4, m.shape[3]) for m in maps)
    assert torch.equal(feats, gan.features(x))  # eval mode: deterministic


def test_mlp_gan_features_are_the_hidden_layers():
    gan = make(GAN, minibatch_discrimination=True)
    assert gan.features(torch.rand(5, 1, 8, 8)).shape == (5, 16 + 8)  # not the batch-dependent MBD outputs


@pytest.mark.parametrize("cls", [GAN, DCGAN])
@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 12, 12)])
def test_sample_shape_range_and_seed(cls, shape):
    gan = make(cls, shape, virtual_batchnorm=True)
    a = gan.sample(4, torch.Generator().manual_seed(1))
    assert a.shape == (4, *shape) and a.min() >= 0 and a.max() <= 1
    assert torch.equal(a, gan.sample(4, torch.Generator().manual_seed(1)))
    assert gan.training  # the mode is restored


def test_dcgan_defaults_follow_the_paper():
    gan = DCGAN(DCGAN.Config(), (1, 28, 28))
    opt_d, opt_g = gan.configure_optimizers()
    for opt in (opt_d, opt_g):
        assert opt.defaults["lr"] == 2e-4 and opt.defaults["betas"] == (0.5, 0.999)
    assert {id(p) for g in opt_d.param_groups for p in g["params"]} == {id(p) for p in gan.discriminator.parameters()}
    assert {id(p) for g in opt_g.param_groups for p in g["params"]} == {id(p) for p in gan.generator.parameters()}
    assert not gan.automatic_optimization
    assert not any(isinstance(m, nn.Linear) for m in gan.discriminator.blocks.modules())  # no FC hidden layers
    assert all(isinstance(m, nn.ReLU) for m in gan.generator.net if isinstance(m, (nn.ReLU, nn.LeakyReLU)))


@pytest.mark.parametrize("cls", [GAN, DCGAN])
def test_rotation_loss_turns_real_images_in_one_pass_and_only_d_learns_the_head(cls):
    gan = make(cls, rotation_loss=1.0, rotation_loss_g=0.5)
    x = torch.rand(8, 1, 8, 8) * 2 - 1
    logits, h, terms = gan.discriminate(x)
    views, turns = rotations(x[:2])  # the first quarter in its four turns
    all_logits, all_h = gan.discriminator(torch.cat([x, views[2:]]))  # one pass: 8 + 6 images
    assert torch.allclose(logits, all_logits[:8]) and torch.allclose(h, all_h[:8])
    expected = F.cross_entropy(gan.rotation_head(torch.cat([all_h[:2], all_h[8:]])), turns)
    assert torch.allclose(terms["rotation_loss"], expected) and 0 <= terms["rotation_acc"] <= 1
    # D's objective adds beta times its rotation loss on real images; G's alpha times that on its own
    torch.manual_seed(1)
    d_objective, d_terms = gan.discriminator_terms(x)
    assert torch.allclose(d_objective, d_terms["d_loss"] + 1.0 * d_terms["d_rotation_loss"])
    g_objective, g_terms = gan.generator_terms(x)
    assert torch.allclose(g_objective, g_terms["g_loss"] + 0.5 * g_terms["g_rotation_loss"])
    opt_d, opt_g = gan.configure_optimizers()
    head = {id(p) for p in gan.rotation_head.parameters()}
    assert head <= {id(p) for g in opt_d.param_groups for p in g["params"]}
    assert not head & {id(p) for g in opt_g.param_groups for p in g["params"]}
    # alpha 0: G's objective is the plain one, and the head is not part of the representation
    gan = make(cls, rotation_loss=1.0, rotation_loss_g=0.0)
    assert "g_rotation_loss" not in gan.generator_terms(x)[1]
    assert gan.features(torch.rand(3, 1, 8, 8)).shape == make(cls).features(torch.rand(3, 1, 8, 8)).shape


def test_rotation_loss_shows_d_real_and_generated_batches_in_the_same_mix():
    """Batch norm in D would otherwise tell a turned-and-unturned real batch from a plain
    generated one by its statistics alone."""
    gan = make(DCGAN, rotation_loss=1.0, feature_matching=True)
    sizes = []
    gan.discriminator.register_forward_pre_hook(lambda module, args: sizes.append(len(args[0])))
    x = torch.rand(8, 1, 8, 8) * 2 - 1
    gan.discriminator_terms(x)
    gan.generator_terms(x)
    assert sizes == [8 + 6] * 4  # D's step: real, generated; G's step: generated, real (feature matching)


def test_rotation_loss_refuses_images_that_a_quarter_turn_reshapes():
    with pytest.raises(ConfigError, match="square images"):
        make(DCGAN, (1, 8, 12), rotation_loss=1.0)
    make(DCGAN, (1, 8, 12))  # without it, any size


def test_d_steps_updates_the_discriminator_k_times_per_generator_update():
    gan = make(GAN, d_steps=3)
    fit(gan, torch.rand(6, 1, 8, 8), ONE_STEP)
    opt_d, opt_g = gan.optimizers()
    step = lambda opt: next(iter(opt.optimizer.state.values()))["step"].item()  # noqa: E731
    assert (step(opt_d), step(opt_g)) == (3, 1)


def test_virtual_batchnorm_reference_is_fixed_and_historical_averages_are_buffers():
    gan = make(DCGAN, virtual_batchnorm=True, historical_averaging=0.5)
    reference = gan.generator.z_reference.clone()
    assert not any(isinstance(m, nn.BatchNorm2d) for m in gan.generator.modules())
    assert any(isinstance(m, VirtualBatchNorm) for m in gan.generator.modules())
    train = TrainConfig(epochs=2, batch_size=4, accelerator="cpu", devices="1", progress=False)
    fit(gan, torch.rand(8, 1, 8, 8), train)
    assert torch.equal(gan.generator.z_reference, reference)
    assert isinstance(gan.averages["d"], HistoricalAverage) and gan.averages["d"].count.item() == 1 + 4
    state = gan.state_dict()
    assert "generator.z_reference" in state and "averages.g.mean_0" in state and "averages.d.count" in state
    # the penalty pulls toward the mean of past weights, which now differs from the weights
    assert gan.penalty("d", gan.discriminator)["d_history"] > 0


@pytest.mark.parametrize(
    "options, message",
    [
        ({"label_smoothing": 0.0}, "label_smoothing must be positive"),
        ({"label_smoothing": 1.2}, r"label_smoothing must be in \(0, 1\]"),
        ({"historical_averaging": -1.0}, "historical_averaging must be >= 0"),
        ({"collapse_patience": -1}, "collapse_patience must be >= 0"),
        ({"beta1": 1.0}, r"beta1 must be in \[0, 1\)"),
        ({"kernel": 4}, "kernel must be odd"),
        ({"rotation_loss": -1.0}, "rotation_loss and rotation_loss_g must be >= 0"),
        ({"hidden": (8,)}, "unknown option"),
    ],
)
def test_config_errors_say_what_to_do(options, message):
    with pytest.raises(ConfigError, match=message):
        DCGAN.Config.from_dict(options)


def test_nan_stops_training_and_keeps_the_epoch_1_checkpoint(tmp_path, monkeypatch):
    gan = make(DCGAN)
    calls_in_epoch_2 = []

    def exploding_generator_loss(fake_logits):
        loss = TRUE_GENERATOR_LOSS(fake_logits)
        if gan._trainer is not None and gan.current_epoch == 1:
            calls_in_epoch_2.append(1)
            if len(calls_in_epoch_2) == 2:  # the second step of epoch 2
                return loss * float("nan")
        return loss

    TRUE_GENERATOR_LOSS = gan_module.generator_loss
    monkeypatch.setattr(gan_module, "generator_loss", exploding_generator_loss)
    train = TrainConfig(epochs=2, batch_size=6, accelerator="cpu", devices="1", progress=False)
    with pytest.raises(TrainingError, match=r"became nan at epoch 2.*last good checkpoint is kept in"):
        fit(gan, torch.rand(18, 1, 8, 8), train, run_dir=tmp_path)
    assert len(calls_in_epoch_2) == 2
    ckpt = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["epoch"] == 0  # epoch 1 (index 0) is the last good one
    assert all(torch.isfinite(v).all() for v in ckpt["state_dict"].values() if v.is_floating_point())
    assert len(ckpt["optimizer_states"]) == 2  # both players' Adam states


class Overpowered(GAN):
    """A discriminator that is certain of every image from epoch 2 on."""

    def discriminator_terms(self, real):
        objective, terms = super().discriminator_terms(real)
        if self._trainer is not None and self.current_epoch >= 1:
            terms = {**terms, "d_real": torch.tensor(0.999), "d_fake": torch.tensor(1e-5)}
        return objective, terms


def test_collapsed_discriminator_stops_with_advice_and_keeps_the_last_checkpoint(tmp_path):
    gan = Overpowered(GAN.Config.from_dict({**TINY[GAN], "collapse_patience": 2}), (1, 8, 8))
    train = TrainConfig(epochs=3, batch_size=6, accelerator="cpu", devices="1", progress=False)
    advice = r"discriminator collapsed at epoch 2.*2 steps in a row.*kept in.*lower lr_d.*label_smoothing"
    with pytest.raises(TrainingError, match=advice):
        fit(gan, torch.rand(18, 1, 8, 8), train, run_dir=tmp_path)
    assert torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 0


def test_collapse_counts_consecutive_steps_only_and_can_be_turned_off():
    gan = make(GAN, collapse_patience=3)
    certain = {"d_real": torch.tensor(0.99), "d_fake": torch.tensor(1e-4)}
    unsure = {"d_real": torch.tensor(0.99), "d_fake": torch.tensor(0.2)}
    for terms in (certain, certain, unsure, certain, certain):
        gan.check_collapse(terms)  # never 3 in a row
    with pytest.raises(TrainingError, match="collapse_patience=0 turns this check off"):
        gan.check_collapse(certain)
    off = make(GAN, collapse_patience=0)
    for _ in range(10):
        off.check_collapse(certain)
