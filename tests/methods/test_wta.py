import pytest
import torch

from tenshot.config import TrainConfig
from tenshot.errors import ConfigError
from tenshot.losses import reconstruction_loss
from tenshot.methods.wta import WTAAutoencoder, WTAConfig
from tenshot.nn.winner_take_all import lifetime_winners, paste_filters, spatial_winners, winner_take_all, winners
from tenshot.training import fit

SHAPE = (1, 8, 8)


def test_spatial_winners_keep_one_peak_per_map():
    torch.manual_seed(0)
    h = torch.rand(3, 4, 5, 5)
    out = spatial_winners(h)
    assert ((out > 0).flatten(2).sum(2) == 1).all()  # exactly one survivor per (example, map)
    assert torch.equal(out.flatten(2).amax(2), h.flatten(2).amax(2))  # and it is the maximum, unchanged


def test_lifetime_winners_keep_the_top_fraction_of_the_batch_per_map():
    strength = torch.tensor([[1.0, 9.0], [4.0, 2.0], [3.0, 8.0], [2.0, 1.0]])  # (N=4, C=2)
    h = strength.view(4, 2, 1, 1)
    out = lifetime_winners(h, 0.5).view(4, 2)  # ceil(0.5 * 4) = 2 winners per map
    expected = torch.tensor([[0.0, 9.0], [4.0, 0.0], [3.0, 8.0], [0.0, 0.0]])
    assert torch.equal(out, expected)
    # a hand-written reference on random maps: per map, zero every example below its k-th best peak
    torch.manual_seed(1)
    h = torch.rand(10, 3, 4, 4)
    out = winner_take_all(h, 0.3)
    for c in range(3):
        peaks = h[:, c].flatten(1).amax(1)
        keep = peaks >= peaks.sort(descending=True).values[2]  # ceil(0.3 * 10) = 3
        assert torch.equal(out[:, c].flatten(1).amax(1) > 0, keep)


@pytest.mark.parametrize("maps, kernel, c_out, fraction", [(8, 5, 1, 0.3), (16, 7, 3, 0.05), (4, 3, 2, 1.0)])
def test_pasting_the_winners_filters_is_the_transposed_conv_of_the_sparse_maps(maps, kernel, c_out, fraction):
    # the fast decoder must give the dense one's output and gradients (to maps, weight, bias)
    torch.manual_seed(maps)
    h = torch.relu(torch.randn(20, maps, 9, 11)).requires_grad_(True)  # ReLU: some maps all zero
    weight = torch.randn(maps, c_out, kernel, kernel, requires_grad=True)
    bias = torch.randn(c_out, requires_grad=True)
    dense = torch.nn.functional.conv_transpose2d(winner_take_all(h, fraction), weight, bias, padding=kernel // 2)
    fast = paste_filters(winners(h, fraction), weight, bias, len(h), (9, 11))
    assert torch.allclose(fast, dense, atol=1e-5)
    probe = torch.randn_like(dense)
    for a, b in zip(torch.autograd.grad((dense * probe).sum(), (h, weight, bias)),
                    torch.autograd.grad((fast * probe).sum(), (h, weight, bias))):
        assert torch.allclose(a, b, atol=1e-4)
    example, channel, _, value = winners(h, fraction)
    assert len(example) == int((winner_take_all(h, fraction) > 0).sum())  # one point per surviving activation
    assert (value > 0).all()


def test_winner_take_all_rejects_bad_input():
    with pytest.raises(ValueError, match="fraction"):
        lifetime_winners(torch.rand(2, 3), 0.0)
    with pytest.raises(ValueError, match="N, C, H, W"):
        spatial_winners(torch.rand(2, 3))
    with pytest.raises(ValueError, match="N, C, H, W"):
        winners(torch.rand(2, 3), 0.5)
    with pytest.raises(ValueError, match="fraction"):
        winners(torch.rand(2, 3, 4, 4), 1.5)


def test_linear_mse_is_the_squared_error_of_the_output_itself():
    out, target = torch.randn(2, 1, 3, 3), torch.rand(2, 1, 3, 3)
    assert torch.allclose(reconstruction_loss(out, target, "linear-mse"), ((out - target) ** 2).sum((1, 2, 3)).mean())
    with pytest.raises(ValueError, match="unknown reconstruction loss"):
        reconstruction_loss(out, target, "l1")


def test_sparsity_only_while_training_and_features_shape():
    wta = WTAAutoencoder(WTAConfig(width=4, n_layers=2, decoder_kernel=5, lifetime=0.25, grid=2), SHAPE)
    x = torch.rand(8, *SHAPE)
    with torch.no_grad():
        wta.train()
        assert float(wta.losses(x)["active_maps"]) == pytest.approx(0.25)  # 2 of 8 examples per map
        wta.eval()
        assert float(wta.losses(x)["active_maps"]) > 0.25  # dense maps at evaluation
    assert wta.features(x).shape == (8, 2 * 4 * (1 + 2 * 2))  # both layers, 4 maps, 1x1 + 2x2 grids
    last = WTAAutoencoder(WTAConfig(width=4, decoder_kernel=5, features="last", grid=2, pyramid=False), SHAPE)
    assert last.features(x).shape == (8, 4 * 2 * 2)
    assert wta.reconstruct(x).shape == x.shape


def test_training_lowers_the_reconstruction_error():
    torch.manual_seed(0)
    x = torch.zeros(64, *SHAPE)
    x[:, :, 2:6, 2:6] = torch.rand(64, 1, 1, 1)  # squares of random brightness: one part to learn
    wta = WTAAutoencoder(WTAConfig(width=4, n_layers=1, kernel=3, decoder_kernel=5, lifetime=0.5), SHAPE)
    with torch.no_grad():
        before = float(wta.losses(x)["reconstruction"])
    fit(wta, x, TrainConfig(epochs=15, batch_size=16, lr=1e-2, progress=False, accelerator="cpu"))
    wta.train()
    with torch.no_grad():
        assert float(wta.losses(x)["reconstruction"]) < 0.5 * before


def test_features_are_the_pyramid_of_max_pooled_maps_to_the_power():
    torch.manual_seed(0)
    wta = WTAAutoencoder(WTAConfig(width=3, decoder_kernel=5, grid=2, power=0.5), SHAPE).eval()
    x = torch.rand(5, *SHAPE)
    with torch.no_grad():
        h = wta.maps(x)[-1]  # (5, 3, H, W), >= 0
        expected = torch.cat([h.amax((2, 3)), torch.nn.functional.adaptive_max_pool2d(h, 2).flatten(1)], 1).sqrt()
        assert torch.allclose(wta.features(x), expected, atol=1e-5)
    wta.config.power = 1.0
    with torch.no_grad():
        assert torch.allclose(wta.features(x), expected**2, atol=1e-5)
    # Where the encoder is trained through its features, dead units give finite gradients.
    wta.config.power = 0.5
    x.requires_grad_(True)
    wta.encode(x).sum().backward()
    assert torch.isfinite(x.grad).all()


@pytest.mark.parametrize(
    "bad, match",
    [({"power": 0.0}, "power"), ({"kernel": 4}, "odd"), ({"decoder_kernel": 10}, "odd"), ({"lifetime": 0.0}, "lifetime"), ({"lifetime": 1.5}, "lifetime")],
)
def test_config_rejects_bad_values(bad, match):
    with pytest.raises(ConfigError, match=match):
        WTAConfig.from_dict(bad)
