import pytest
import torch
from torch import nn

from tenshot.losses.gan import historical_averaging_penalty
from tenshot.nn.gan import (
    ConvGenerator, HistoricalAverage, MinibatchDiscrimination, MLPGenerator, VirtualBatchNorm, conv_discriminator,
    mlp_discriminator,
)


def test_minibatch_discrimination_matches_the_papers_formula():
    torch.manual_seed(0)
    layer = MinibatchDiscrimination(6, num_kernels=3, kernel_dim=2)
    f = torch.randn(4, 6)
    out = layer(f)
    assert out.shape == (4, 6 + 3) == (4, layer.out_features)
    assert torch.equal(out[:, :6], f)  # the features pass through
    m = (f @ layer.T).view(4, 3, 2)  # M_i = f(x_i) T
    for i in range(4):
        for b in range(3):
            ref = sum(torch.exp(-(m[i, b] - m[j, b]).abs().sum()) for j in range(4))  # j = i included
            assert out[i, 6 + b].item() == pytest.approx(ref.item(), rel=1e-5)
    out[:, 6:].sum().backward()
    assert layer.T.grad is not None and layer.T.grad.abs().sum() > 0


def test_minibatch_discrimination_sees_a_collapsed_batch():
    layer = MinibatchDiscrimination(5, num_kernels=4)
    same = torch.ones(3, 5)
    assert torch.allclose(layer(same)[:, 5:], torch.full((3, 4), 3.0))  # every pair at distance 0
    diverse = torch.randn(3, 5) * 10
    assert (layer(diverse)[:, 5:] < 3.0).all()


@pytest.mark.parametrize("shape", [(3,), (3, 4, 5)])
def test_virtual_batchnorm_reference_rows_are_batch_norm_and_others_use_combined_statistics(shape):
    torch.manual_seed(0)
    r, eps = 5, 1e-5
    vbn = VirtualBatchNorm(3, reference_size=r, eps=eps)
    x = torch.randn(r + 2, *shape) * 3 + 1
    out = vbn(x)
    assert out.shape == x.shape
    bn = nn.BatchNorm1d(3, affine=False) if len(shape) == 1 else nn.BatchNorm2d(3, affine=False)
    assert torch.allclose(out[:r], bn.train()(x[:r]), atol=1e-5)  # the reference batch: plain batch norm
    dims = (0,) + tuple(range(2, x.dim()))
    ref = x[:r]
    for i in range(r, r + 2):
        xi = x[i : i + 1]
        # as if x_i joined the reference batch (its positions weigh like one more example)
        mean = (r * ref.mean(dims) + xi.mean(dims)) / (r + 1)
        sq = (r * ref.pow(2).mean(dims) + xi.pow(2).mean(dims)) / (r + 1)
        view = (1, 3) + (1,) * (len(shape) - 1)
        expected = (xi - mean.view(view)) / torch.sqrt(sq.view(view) - mean.view(view) ** 2 + eps)
        assert torch.allclose(out[i : i + 1], expected, atol=1e-5)


def test_virtual_batchnorm_output_of_an_example_does_not_depend_on_its_batch():
    vbn = VirtualBatchNorm(2, reference_size=4)
    with torch.no_grad():
        vbn.weight.fill_(2.0), vbn.bias.fill_(0.5)
    ref, a, others = torch.randn(4, 2, 3, 3), torch.randn(1, 2, 3, 3), torch.randn(5, 2, 3, 3)
    alone = vbn(torch.cat([ref, a]))[-1]
    in_batch = vbn(torch.cat([ref, others, a]))[-1]
    assert torch.allclose(alone, in_batch, atol=1e-6)
    with pytest.raises(ValueError, match="reference batch"):
        vbn(ref)


def test_historical_average_is_the_mean_of_past_parameters_and_is_saved():
    net = nn.Linear(2, 1)
    history = HistoricalAverage(net.parameters())
    seen = [[p.detach().clone() for p in net.parameters()]]
    for value in (1.0, 3.0):
        with torch.no_grad():
            for p in net.parameters():
                p.add_(value)
        history.update(net.parameters())
        seen.append([p.detach().clone() for p in net.parameters()])
    means = [torch.stack(ps).mean(0) for ps in zip(*seen)]  # initial weights count as the first value
    assert all(torch.allclose(a, m) for a, m in zip(history.averages(), means))
    expected = historical_averaging_penalty(list(net.parameters()), means)
    assert torch.allclose(history.penalty(net.parameters()), expected)
    state = history.state_dict()
    assert set(state) == {"mean_0", "mean_1", "count"} and state["count"].item() == 3
    fresh = HistoricalAverage(nn.Linear(2, 1).parameters())
    fresh.load_state_dict(state)
    assert all(torch.equal(a, b) for a, b in zip(fresh.averages(), history.averages()))


@pytest.mark.parametrize("shape", [(1, 28, 28), (1, 8, 8), (3, 12, 12), (3, 13, 17)])
@pytest.mark.parametrize("reference_size", [0, 3])
def test_generators_make_images_of_any_size_in_tanh_range(shape, reference_size):
    z = torch.randn(2, 6)
    for g in (ConvGenerator(shape, 6, width=4, n_blocks=3, kernel=3, reference_size=reference_size),
              MLPGenerator(shape, 6, hidden=(8,), reference_size=reference_size)):
        out = g(z)
        assert out.shape == (2, *shape) and out.abs().max() <= 1
        norms = [type(m) for m in g.modules() if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, VirtualBatchNorm))]
        assert norms and set(norms) <= ({VirtualBatchNorm} if reference_size else {nn.BatchNorm1d, nn.BatchNorm2d})
        layers = list(g.net)
        tanh = [i for i, m in enumerate(layers) if isinstance(m, nn.Tanh)]
        assert len(tanh) == 1 and isinstance(layers[tanh[0] - 1], (nn.Linear, nn.ConvTranspose2d))  # output: no norm


def test_virtual_batchnorm_generator_keeps_its_reference_batch_and_is_batch_independent():
    torch.manual_seed(0)
    g = ConvGenerator((1, 8, 8), 6, width=4, n_blocks=2, kernel=3, reference_size=5)
    assert "z_reference" in g.state_dict() and g.z_reference.shape == (5, 6)
    z = torch.randn(4, 6)
    assert torch.allclose(g(z)[:1], g(z[:1]), atol=1e-6)  # in training mode too: no batch statistics


def test_dcgan_discriminator_layout_and_features():
    d = conv_discriminator((3, 12, 12), width=4, n_blocks=3, kernel=5)
    first, second = d.blocks[0], d.blocks[1]
    assert isinstance(first[1], nn.Identity) and isinstance(second[1], nn.BatchNorm2d)  # no BN on the input layer
    assert isinstance(first[2], nn.LeakyReLU) and first[2].negative_slope == 0.2 and first[0].stride == (2, 2)
    assert not any(isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)) for m in d.modules())
    x = torch.rand(5, 3, 12, 12)
    assert [tuple(f.shape) for f in d.features(x)] == [(5, 4, 6, 6), (5, 8, 3, 3), (5, 16, 2, 2)]
    logits, h = d(x)
    assert logits.shape == (5,) and h.shape == (5, 16 * 2 * 2)
    with_mbd = conv_discriminator((3, 12, 12), width=4, n_blocks=3, minibatch_discrimination=True)
    assert with_mbd.out.in_features == 64 + 100 and with_mbd(x)[0].shape == (5,)


def test_deeper_discriminator_blocks_add_same_resolution_3x3_convs_and_keep_the_feature_sizes():
    x = torch.rand(5, 3, 12, 12)
    shallow = conv_discriminator((3, 12, 12), width=4, n_blocks=3, kernel=5)
    deep = conv_discriminator((3, 12, 12), width=4, n_blocks=3, kernel=5, depth=3)
    assert [f.shape for f in deep.features(x)] == [f.shape for f in shallow.features(x)]
    for block in deep.blocks:
        convs = [m for m in block if isinstance(m, nn.Conv2d)]
        assert [c.stride for c in convs] == [(2, 2), (1, 1), (1, 1)] and convs[1].kernel_size == (3, 3)
        assert sum(isinstance(m, nn.LeakyReLU) for m in block) == 3
    # Only the input conv goes without batch norm: the extra convs of block 0 see features, not pixels.
    assert [type(m) for m in deep.blocks[0] if not isinstance(m, (nn.Conv2d, nn.LeakyReLU))] == [
        nn.Identity, nn.BatchNorm2d, nn.BatchNorm2d
    ]


def test_mlp_discriminator_features_are_hidden_layers():
    d = mlp_discriminator((1, 8, 8), hidden=(16, 8), minibatch_discrimination=True)
    x = torch.rand(3, 1, 8, 8)
    assert [tuple(f.shape) for f in d.features(x)] == [(3, 16), (3, 8)]
    logits, h = d(x)
    assert logits.shape == (3,) and h.shape == (3, 8)
