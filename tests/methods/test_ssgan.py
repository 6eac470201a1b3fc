"""The semi-supervised K+1-class GAN: one step through the engine, the paper's defaults,
the averaged discriminator used for evaluation, and the classifier API."""

import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

import tenshot.registry
from tenshot import io
from tenshot.api import SemiSupervisedClassifier, SemiSupervisedEnsemble
from tenshot.config import TrainConfig
from tenshot.errors import ConfigError, DataError
from tenshot.losses.semisup_gan import supervised_loss, unsupervised_loss
from tenshot.methods.ssgan import (
    SSGAN, GaussianNoise, SSGANConfig, ema_update, init_from_data, linear_decay, RandomFlip, sigmoid_rampup, tied_noise
)
from tenshot.nn.gan import MinibatchDiscrimination
from tenshot.training import fit

TINY = {"n_classes": 3, "hidden": (16, 8), "g_hidden": (8,), "width": 4, "latent_dim": 4}
ONE_STEP = TrainConfig(epochs=1, batch_size=6, accelerator="cpu", devices="1", progress=False)


def make(shape=(1, 8, 8), **options) -> SSGAN:
    torch.manual_seed(0)
    return SSGAN(SSGANConfig.from_dict({**TINY, **options}), shape, ONE_STEP)


def labeled_batch(shape, n=6):
    x = torch.rand(n, *shape)
    return x, (x[:n], torch.arange(n) % 3)


@pytest.mark.parametrize("shape, options, architecture", [
    ((1, 28, 28), {}, "mlp"),
    ((3, 12, 12), {}, "conv"),
    ((1, 8, 8), {"minibatch_discrimination": True}, "conv"),
    ((3, 12, 12), {"architecture": "mlp", "minibatch_discrimination": True}, "mlp"),
    ((1, 1, 20), {}, "mlp"),  # vectors: no image layout for a conv
])
def test_one_step_moves_both_players_and_logs_finite_terms(shape, options, architecture):
    m = make(shape, **options)
    assert m.architecture == architecture
    x, labeled = labeled_batch(shape)
    before = {n: p.detach().clone() for n, p in m.named_parameters()}
    final = fit(m, x, ONE_STEP, labeled=labeled)["final"]
    assert {"loss", "d_supervised", "d_unsupervised", "g_loss", "d_real", "d_fake", "labeled_accuracy"} <= set(final)
    assert all(isinstance(v, float) and np.isfinite(v) for v in final.values())
    changed = {n.split(".")[0] for n, p in m.named_parameters() if not torch.equal(before[n], p)}
    assert changed == {"generator", "discriminator", "ema"}  # the average moves with D
    assert m.ema.n_averaged.item() == 1
    assert m.logits(x).shape == (6, 3) and torch.isfinite(m.features(x)).all()
    assert m.sample(2).shape == (2, *shape)
    seeded = [m.sample(1, torch.Generator().manual_seed(3)) for _ in range(2)]  # the seeded path of `tenshot sample`
    assert seeded[0].shape == (1, *shape) and torch.equal(*seeded)


def test_defaults_for_28x28_gray_are_the_papers_mnist_setup():
    m = SSGAN(SSGANConfig(n_classes=10), (1, 28, 28))
    assert m.architecture == "mlp" and m.needs_labels and not m.automatic_optimization
    d, g = m.discriminator, m.generator
    # D = 784-1000-500-250-250-250-10, every layer weight-normed, ReLU, Gaussian noise 0.3 on the input, 0.5 after
    linears = [l for l in d.modules() if isinstance(l, nn.Linear)]
    assert [(l.in_features, l.out_features) for l in linears] == [
        (784, 1000), (1000, 500), (500, 250), (250, 250), (250, 250), (250, 10)
    ]
    assert all(parametrize.is_parametrized(l, "weight") for l in linears)
    # every weight-norm scale g trains (the authors' code fixes the hidden ones: train_hidden_scales=False)
    assert all(l.parametrizations.weight.original0.requires_grad for l in linears)
    assert [n.std for n in d.modules() if isinstance(n, GaussianNoise)] == [0.3, 0.5, 0.5, 0.5, 0.5, 0.5]
    assert sum(isinstance(a, nn.ReLU) for a in d.modules()) == 5
    assert not any(isinstance(b, MinibatchDiscrimination) for b in d.modules())  # it hurts the classifier
    # G = z(100)-500-500-784: batch norm and softplus on the hidden layers, sigmoid output
    layers = list(g.net)
    sizes = [(l.in_features, l.out_features) for l in layers if isinstance(l, nn.Linear)]
    assert sizes == [(100, 500), (500, 500), (500, 784)]
    assert [type(l) for l in layers[:6]] == [nn.Linear, nn.BatchNorm1d, nn.Softplus] * 2
    assert isinstance(layers[-2], nn.Sigmoid) and m.sample(3).shape == (3, 1, 28, 28)
    # Adam, lr 0.003, beta1 0.5, one per player
    opt_d, opt_g = m.configure_optimizers()
    for opt in (opt_d, opt_g):
        assert opt.defaults["lr"] == 0.003 and opt.defaults["betas"] == (0.5, 0.999)
    assert {id(p) for p in opt_d.param_groups[0]["params"]} == {id(p) for p in d.parameters()}
    assert {id(p) for p in opt_g.param_groups[0]["params"]} == {id(p) for p in g.parameters()}
    # the authors' code: z ~ U(0, 1), and the unsupervised loss halved (loss_lab + 0.5 loss_unl)
    z = m.noise(500)
    assert z.shape == (500, 100) and z.min() >= 0 and z.max() < 1 and abs(z.mean().item() - 0.5) < 0.05
    assert m.config.unsupervised_weight == 0.5 and m.config.classifier_weight == 1.0
    # evaluation reads the moving average of D, not D
    assert m.config.ema_decay == 0.999 and m.code.__func__ is SSGAN.code and m.ema.module is not d


def test_the_average_differs_from_live_weights_and_is_what_logits_and_encode_use():
    m = make((1, 8, 8), architecture="mlp", ema_decay=0.9)
    x, labeled = labeled_batch((1, 8, 8), 12)
    fit(m, x, TrainConfig(epochs=2, batch_size=4, accelerator="cpu", devices="1", progress=False), labeled=labeled)
    assert m.ema.n_averaged.item() == 6
    live, ema = dict(m.discriminator.named_parameters()), dict(m.ema.module.named_parameters())
    assert live.keys() == ema.keys() and all(not torch.equal(live[k], ema[k]) for k in live)
    assert not any(p.requires_grad for p in m.ema.parameters())
    m.eval()
    with torch.no_grad():
        ema_logits, ema_h = m.ema.module(x)
        live_logits, _ = m.discriminator(x)
    assert torch.allclose(m.logits(x), ema_logits) and not torch.allclose(m.logits(x), live_logits)
    assert torch.allclose(m.features(x), ema_h)


@pytest.mark.parametrize("architecture", ["mlp", "conv"])
@pytest.mark.parametrize("train_hidden_scales", [False, True])
def test_hidden_scales_keep_their_data_init_values_unless_trained(architecture, train_hidden_scales, monkeypatch):
    m = make((1, 8, 8), architecture=architecture, train_hidden_scales=train_hidden_scales)
    hidden = [l.parametrizations.weight.original0 for l in m.discriminator.body.modules()
              if parametrize.is_parametrized(l, "weight")]
    output = m.discriminator.head[-1].parametrizations.weight.original0
    after_init = []

    def init_and_record(net, x):
        init_from_data(net, x)
        after_init.extend(g.detach().clone() for g in [*hidden, output])

    monkeypatch.setattr("tenshot.methods.ssgan.init_from_data", init_and_record)
    x, labeled = labeled_batch((1, 8, 8), 12)
    fit(m, x, TrainConfig(epochs=2, batch_size=4, accelerator="cpu", devices="1", progress=False), labeled=labeled)
    assert len(after_init) == len(hidden) + 1  # the data init ran once, on the first batch
    assert all(g.requires_grad == train_hidden_scales for g in hidden) and output.requires_grad
    assert all(torch.equal(g, g0) != train_hidden_scales for g, g0 in zip(hidden, after_init))
    assert not torch.equal(output, after_init[-1])
    optimized = {id(p) for p in m.configure_optimizers()[0].param_groups[0]["params"]}
    assert all((id(g) in optimized) == train_hidden_scales for g in hidden) and id(output) in optimized


def test_ema_update_warms_up_then_uses_the_decay():
    avg, cur = torch.zeros(3), torch.ones(3)
    assert torch.allclose(ema_update(avg, cur, torch.tensor(0), 0.999), torch.full((3,), 0.9))  # decay (1+0)/(10+0)
    assert torch.allclose(ema_update(avg, cur, torch.tensor(10**6), 0.999), torch.full((3,), 0.001))
    assert torch.equal(ema_update(avg, cur, torch.tensor(10**6), 0.0), cur)  # 0: the live weights


@pytest.mark.parametrize("architecture", ["mlp", "conv"])
def test_data_init_gives_unit_preactivations_on_the_batch(architecture):
    m = make((1, 8, 8), architecture=architecture).eval()  # eval: no noise, so the check sees the same inputs
    x = torch.rand(32, 1, 8, 8)
    init_from_data(m.discriminator, x)
    layers = [l for l in m.discriminator.modules() if parametrize.is_parametrized(l, "weight")]
    seen = []
    handles = [l.register_forward_hook(lambda _m, _i, out: seen.append(out)) for l in layers]
    with torch.no_grad():
        m.discriminator(x)
    for h in handles:
        h.remove()
    for out in seen:
        dims = [0, *range(2, out.dim())]
        assert torch.allclose(out.mean(dims), torch.zeros(1), atol=1e-4)
        assert torch.allclose(out.std(dims, unbiased=False), torch.ones(1), atol=1e-2)


def test_losses_give_d_loss_for_the_first_batch_check():
    m = make((1, 8, 8), architecture="mlp", classifier_weight=2.0, unsupervised_weight=0.25).eval()
    x, (x_l, y_l) = labeled_batch((1, 8, 8))
    torch.manual_seed(1)
    terms = m.losses(x, x_l, y_l)
    assert torch.allclose(terms["loss"], 2.0 * terms["d_supervised"] + 0.25 * terms["d_unsupervised"])
    with torch.no_grad():
        assert torch.allclose(terms["d_supervised"], supervised_loss(m.discriminator(x_l)[0], y_l))
    unlabeled_only = m.losses(x)
    assert "d_supervised" not in unlabeled_only
    assert torch.allclose(unlabeled_only["loss"], 0.25 * unlabeled_only["d_unsupervised"])
    torch.manual_seed(2)
    with torch.no_grad():
        fake = m.generator(m.noise(6))
        reference = unsupervised_loss(m.discriminator(x)[0], m.discriminator(fake)[0])
    torch.manual_seed(2)
    assert torch.allclose(m.discriminator_terms(x)["d_unsupervised"], reference)


@pytest.mark.parametrize("options", [{"architecture": "mlp"}, {"architecture": "conv"}, {"minibatch_discrimination": True}])
def test_one_pass_over_the_batches_gives_the_losses_and_gradients_of_a_pass_per_batch(options):
    m = make((1, 8, 8), **options).eval()  # eval: no noise, so both ways see the same inputs
    x, (x_l, y_l) = labeled_batch((1, 8, 8))
    x_l = x_l[:4]  # batches of different sizes
    torch.manual_seed(2)
    terms = m.discriminator_terms(x, x_l, y_l[:4])
    joint = torch.autograd.grad(terms["loss"], list(m.discriminator.parameters()))
    torch.manual_seed(2)
    with torch.no_grad():
        fake = m.generator(m.noise(6))
    (unl, h_unl), (fak, _), (lab, _) = [m.discriminator(b) for b in (x, fake, x_l)]
    reference = supervised_loss(lab, y_l[:4]) + 0.5 * unsupervised_loss(unl, fak)
    separate = torch.autograd.grad(reference, list(m.discriminator.parameters()))
    assert torch.allclose(terms["loss"], reference, atol=1e-6)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(joint, separate))
    assert torch.allclose(m.discriminate(x, x_l)[0][1], h_unl, atol=1e-6)
    if options.get("minibatch_discrimination"):  # it compares within a batch: a joint pass would differ
        assert not torch.allclose(m.discriminator(torch.cat([x, fake]))[0][:6], unl, atol=1e-4)


def test_tied_noise_gives_the_target_rows_the_source_rows_draws_and_only_within_the_block():
    noise = GaussianNoise(1.0).train()
    net = nn.Sequential(noise, nn.Identity())
    x = torch.zeros(6, 2, 3)
    with tied_noise(net, slice(0, 2), slice(4, 6)):
        y = net(x)
    assert torch.equal(y[4:], y[:2]) and not torch.equal(y[2:4], y[:2])
    assert noise.tie is None and not torch.equal(net(x)[4:], net(x)[:2])  # untied after the block
    assert torch.equal(noise.eval()(x), x)  # eval mode: no noise, tied or not


@pytest.mark.parametrize("shared, architecture", [(True, "mlp"), (True, "conv"), (False, "mlp")])
def test_manifold_term_compares_g_of_z_with_its_neighbour_under_ds_noise(shared, architecture, monkeypatch):
    """The term enters D's loss with its weight; with shared noise, a zero step leaves it at
    exactly 0 in training mode (only the step can move the logits), independent draws do not."""
    options = dict(architecture=architecture, manifold_weight=0.5, manifold_shared_noise=shared)
    m = make((1, 8, 8), **options).train()
    x, (x_l, y_l) = labeled_batch((1, 8, 8))
    terms = m.discriminator_terms(x, x_l, y_l)
    weighted = terms["d_supervised"] + 0.5 * terms["d_unsupervised"] + 0.5 * terms["d_manifold"]
    assert torch.allclose(terms["loss"], weighted) and terms["d_manifold"] > 0
    assert "d_manifold" in m.discriminator_terms(x) and "d_manifold" not in make((1, 8, 8)).discriminator_terms(x)
    # the neighbours: G(z + step * r / ||r||), a step of exactly manifold_step in z
    drawn = []
    m.generator.register_forward_pre_hook(lambda _module, args: drawn.append(args[0]))
    m.fakes(6)
    z, near = drawn[0].split(6)
    assert torch.allclose((near - z).norm(dim=1), torch.full((6,), m.config.manifold_step))
    monkeypatch.setattr(m.config, "manifold_step", 1e-30)  # G(z + step r) == G(z) in float32
    assert (m.discriminator_terms(x)["d_manifold"] == 0) == shared


def test_manifold_term_trains_through_the_engine():
    m = make((1, 28, 28), manifold_weight=0.01)
    x, labeled = labeled_batch((1, 28, 28))
    final = fit(m, x, ONE_STEP, labeled=labeled)["final"]
    assert "d_manifold" in final and np.isfinite(final["d_manifold"]) and final["d_manifold"] > 0


def test_random_flip_mirrors_some_rows_and_keeps_the_rest_and_passes_gradients():
    torch.manual_seed(0)
    x = torch.rand(64, 1, 4, 5, requires_grad=True)
    y = RandomFlip()(x)
    same = (y == x).flatten(1).all(1)
    mirrored = (y == x.flip(-1)).flatten(1).all(1)
    assert (same | mirrored).all() and same.any() and mirrored.any()
    y.sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))  # each pixel lands somewhere exactly once


@pytest.mark.parametrize("augment", ["flip", "flip-shift"])
def test_augment_changes_every_batch_d_sees_in_training_only_and_g_still_gets_gradients(augment):
    """Without noise, D's training-mode logits for an image are those of one of its
    augmentations, not of the image itself for every row; eval mode sees the images as they are."""
    m = make((1, 8, 8), augment=augment, input_noise=0.0, hidden_noise=0.0).train()
    x, _ = labeled_batch((1, 8, 8), n=32)
    plain = m.discriminator(x)[0]
    (augmented, _), = m.discriminate(x)
    assert not torch.allclose(augmented, plain, atol=1e-5)
    if augment == "flip":
        mirrored = m.discriminator(x.flip(-1))[0]
        close = lambda a, b: torch.isclose(a, b, atol=1e-5).all(1)
        assert (close(augmented, plain) | close(augmented, mirrored)).all()
    m.eval()
    assert torch.allclose(m.discriminate(x)[0][0], plain, atol=1e-6)
    m.train()
    m.generator_terms(x)["g_loss"].backward()  # the fakes are augmented too: G's gradient goes through it
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in m.generator.parameters() if p.requires_grad)
    final = fit(make((1, 8, 8), augment=augment), *labeled_batch((1, 8, 8))[:1], ONE_STEP,
                labeled=labeled_batch((1, 8, 8))[1])["final"]
    assert np.isfinite(final["loss"]) and np.isfinite(final["g_loss"])


def test_consistency_term_pulls_d_towards_the_averaged_d_under_other_noise():
    m = make((1, 8, 8), architecture="mlp", consistency_weight=3.0).train()
    x, (x_l, y_l) = labeled_batch((1, 8, 8))
    torch.manual_seed(1)
    terms = m.discriminator_terms(x, x_l, y_l)
    weighted = terms["d_supervised"] + 0.5 * terms["d_unsupervised"] + 3.0 * terms["d_consistency"]
    assert torch.allclose(terms["loss"], weighted)  # full weight outside a fit
    # the teacher is the EMA, with noise of its own while training: with the EMA equal to D,
    # the term is > 0 in training mode only because the two noise draws differ
    m.ema.update_parameters(m.discriminator)
    assert terms["d_consistency"] > 0 and m.discriminator_terms(x)["d_consistency"] > 0
    quiet = make((1, 8, 8), architecture="mlp", consistency_weight=3.0, input_noise=0.0, hidden_noise=0.0).train()
    quiet.ema.update_parameters(quiet.discriminator)
    assert quiet.discriminator_terms(x)["d_consistency"].item() == pytest.approx(0.0, abs=1e-12)
    assert "d_consistency" not in make((1, 8, 8)).discriminator_terms(x)  # off by default, the paper's ssgan


def test_consistency_weight_ramps_up_over_its_fraction_of_training():
    assert [sigmoid_rampup(s, 100, 0.1) for s in (0, 5, 10, 50)] == pytest.approx([math.exp(-5), math.exp(-1.25), 1, 1])
    assert sigmoid_rampup(0, 100, 0.0) == 1.0  # no ramp-up: full weight from the start
    x, labeled = labeled_batch((1, 8, 8), 12)
    train = TrainConfig(epochs=2, batch_size=4, accelerator="cpu", devices="1", progress=False)
    m = make((1, 8, 8), architecture="mlp", consistency_weight=2.0, consistency_rampup=0.5)
    final = fit(m, x, train, labeled=labeled)["final"]  # 6 steps: the ramp ends after step 3
    assert "d_consistency" in final and np.isfinite(final["d_consistency"])
    assert m.consistency_weight_now() == pytest.approx(2.0)  # 6 EMA updates >= 3
    m.ema.n_averaged.fill_(0)
    assert m.consistency_weight_now() == pytest.approx(2.0 * math.exp(-5))


def test_linear_decay_and_the_learning_rates_at_the_end_of_a_run():
    assert [linear_decay(s, 10, 0.6) for s in (0, 6, 8, 10)] == pytest.approx([1.0, 1.0, 0.5, 0.0])
    assert linear_decay(9, 10, 1.0) == 1.0  # constant, the authors' MNIST code
    assert linear_decay(400, 1200, 2 / 3) == 1.0 and linear_decay(1000, 1200, 2 / 3) == pytest.approx(0.5)
    x, labeled = labeled_batch((1, 8, 8), 12)
    train = TrainConfig(epochs=2, batch_size=4, accelerator="cpu", devices="1", progress=False)
    for start, last_factor in [(0.5, 0.0), (1.0, 1.0)]:
        m = make((1, 8, 8), architecture="mlp", lr_decay_start=start, lr_d=0.002)
        fit(m, x, train, labeled=labeled)  # 6 steps, decaying from step 3 to 0 after the last
        assert len(m.schedulers()) == (2 if start < 1 else 0)
        opt_d, opt_g = m.optimizers()
        assert opt_d.param_groups[0]["lr"] == pytest.approx(0.002 * last_factor)
        assert opt_g.param_groups[0]["lr"] == pytest.approx(0.003 * last_factor)


def test_views_train_on_one_random_view_per_example_and_classify_by_the_views_mean_probabilities():
    """--views: a real batch (N, V, 1, D) gives D one view of each example (the same for D's
    and G's step); G makes one view; evaluation averages D's class probabilities over them."""
    m = make((2, 1, 10), views=True)
    assert m.n_views == 2 and m.net_shape == (1, 1, 10) and m.architecture == "mlp"
    x = torch.rand(64, 2, 1, 10)
    picked = m.one_view(x)
    assert picked.shape == (64, 1, 1, 10)
    from_first = (picked[:, 0] == x[:, 0]).all(-1).all(-1)
    from_second = (picked[:, 0] == x[:, 1]).all(-1).all(-1)
    assert (from_first | from_second).all() and from_first.any() and from_second.any()
    final = fit(m, x[:6], ONE_STEP, labeled=(x[:6], torch.arange(6) % 3))["final"]
    assert np.isfinite(final["loss"]) and m.sample(2).shape == (2, 1, 1, 10)
    m.eval()
    with torch.no_grad():
        per_view = [torch.softmax(m.ema.module(x[:, k : k + 1])[0], 1) for k in range(2)]
    assert torch.allclose(torch.softmax(m.logits(x), 1), (per_view[0] + per_view[1]) / 2, atol=1e-6)
    hidden = [m.ema.module.body(x[:, k : k + 1]) for k in range(2)]
    assert torch.allclose(m.encode(x), (hidden[0] + hidden[1]) / 2, atol=1e-6)
    with pytest.raises(ConfigError, match=r"views needs feature rows with several views, shape \(V, 1, D\)"):
        make((1, 8, 8), views=True)


@pytest.mark.parametrize("options, message", [
    ({"lr_decay_start": 1.5}, r"lr_decay_start must be in \[0, 1\]"),
    ({"ema_decay": 1.0}, r"ema_decay must be in \[0, 1\)"),
    ({"hidden_noise": -0.1}, "noise stds must be >= 0"),
    ({"beta1": 1.0}, r"beta1 must be in \[0, 1\)"),
    ({"architecture": "resnet"}, "choose one of: auto, mlp, conv"),
    ({"n_classes": 0}, "n_classes is not set"),
    ({"manifold_weight": -1.0}, "manifold_weight must be >= 0"),
    ({"manifold_step": 0.0}, "manifold_step must be positive"),
    ({"manifold_weight": 0.1, "minibatch_discrimination": True}, "--no-manifold-shared-noise"),
    ({"consistency_weight": -1.0}, "consistency_weight must be >= 0"),
    ({"consistency_weight": 1.0, "ema_decay": 0.0}, "needs a teacher"),
    ({"consistency_rampup": 2.0}, r"consistency_rampup must be in \[0, 1\]"),
    ({"augment": "rotate"}, "choose one of: none, flip, flip-shift"),
    ({"augment": "flip", "manifold_weight": 0.1}, "augment and the manifold regulariser do not combine"),
])
def test_bad_options(options, message):
    with pytest.raises(ConfigError, match=message):
        SSGAN(SSGANConfig.from_dict({**TINY, **options}), (1, 8, 8))


def test_semisupervised_classifier_fits_predicts_and_round_trips(tiny_ds, tmp_path, monkeypatch):
    monkeypatch.setitem(tenshot.registry.METHODS, "ssgan", (SSGAN, SSGANConfig))
    y = np.full(len(tiny_ds.y_train), -1)
    labeled = np.concatenate([np.flatnonzero(tiny_ds.y_train.numpy() == c)[:2] for c in range(3)])
    y[labeled] = tiny_ds.y_train.numpy()[labeled]
    options = {k: v for k, v in TINY.items() if k != "n_classes"}
    clf = SemiSupervisedClassifier("ssgan", epochs=8, batch_size=16, accelerator="cpu", architecture="mlp",
                                   ema_decay=0.9, **options).fit(tiny_ds.x_train, y)
    assert clf.model_.config.n_classes == 3
    proba = clf.predict_proba(tiny_ds.x_test)
    assert proba.shape == (len(tiny_ds.x_test), 3) and np.allclose(proba.sum(1), 1, atol=1e-5)
    assert clf.score(tiny_ds.x_test, tiny_ds.y_test.numpy()) > 0.6
    assert clf.transform(tiny_ds.x_test).shape == (len(tiny_ds.x_test), 8)
    clf.save(tmp_path / "run")
    assert any(k.startswith("ema.module.") for k in io.load_weights(tmp_path / "run" / io.WEIGHTS))
    again = SemiSupervisedClassifier.load(tmp_path / "run")
    assert np.allclose(again.predict_proba(tiny_ds.x_test), proba, atol=1e-6)


def test_ensemble_fits_members_with_consecutive_seeds_and_averages_their_probabilities(tiny_ds):
    y = np.full(len(tiny_ds.y_train), -1)
    labeled = np.concatenate([np.flatnonzero(tiny_ds.y_train.numpy() == c)[:2] for c in range(3)])
    y[labeled] = tiny_ds.y_train.numpy()[labeled]
    options = {k: v for k, v in TINY.items() if k != "n_classes"}
    base = SemiSupervisedClassifier("ssgan", epochs=2, batch_size=16, seed=5, accelerator="cpu", architecture="mlp", **options)
    ens = SemiSupervisedEnsemble(base, n_members=3).fit(tiny_ds.x_train, y)
    assert [m.seed for m in ens.estimators_] == [5, 6, 7] and base.seed == 5 and not hasattr(base, "model_")
    probas = [m.predict_proba(tiny_ds.x_test) for m in ens.estimators_]
    assert np.allclose(ens.predict_proba(tiny_ds.x_test), np.mean(probas, axis=0))
    assert np.array_equal(ens.classes_, [0, 1, 2])
    other = SemiSupervisedClassifier("ssgan", epochs=1, batch_size=16, accelerator="cpu", architecture="mlp", **options)
    with pytest.raises(DataError, match="trained on different classes"):
        ens._set_members([ens.estimators_[0], other.fit(tiny_ds.x_train, np.where(y == 2, -1, y))])
    with pytest.raises(ConfigError, match="at least 1 member"):
        SemiSupervisedEnsemble(base, n_members=0).fit(tiny_ds.x_train, y)
