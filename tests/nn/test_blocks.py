import pytest
import torch

from tenshot.nn import ConvDecoder, ConvEncoder, MLPDecoder, MLPEncoder, corrupt, pooled_features


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (1, 8, 8), (3, 13, 17)])
def test_conv_decoder_mirrors_encoder_for_any_size(shape):
    enc, dec = ConvEncoder(shape, 16), ConvDecoder(shape, 16)
    x = torch.rand(2, *shape)
    assert enc(x).shape == (2, 16)
    assert dec(enc(x)).shape == x.shape


def test_conv_encoder_depth_adds_same_resolution_convs_and_keeps_shapes():
    shallow = ConvEncoder((1, 28, 28), 16, width=8, n_blocks=3, batch_norm=True)
    deep = ConvEncoder((1, 28, 28), 16, width=8, n_blocks=3, batch_norm=True, depth=3)
    x = torch.rand(2, 1, 28, 28)
    assert [f.shape for f in deep.features(x)] == [f.shape for f in shallow.features(x)]
    convs = [[m for m in block if isinstance(m, torch.nn.Conv2d)] for block in deep.blocks]
    assert [[c.stride[0] for c in block] for block in convs] == [[2, 1, 1]] * 3
    norms = [m for m in deep.blocks[0] if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(norms) == 2  # not on the conv that sees raw pixels
    # depth 1 keeps the parameter names of saved runs: block i is conv, norm, activation
    assert set(shallow.state_dict()) <= set(deep.state_dict())


def test_mlp_round_trip_and_features():
    enc, dec = MLPEncoder((1, 8, 8), 5, hidden=(12,)), MLPDecoder((1, 8, 8), 5, hidden=(12,))
    x = torch.rand(3, 1, 8, 8)
    feats = enc.features(x)
    assert [f.shape[1] for f in feats] == [12, 5]
    assert dec(feats[-1]).shape == x.shape


def test_pooled_features_pools_maps_to_grid_and_keeps_vectors():
    maps = torch.arange(2 * 1 * 8 * 8, dtype=torch.float).view(2, 1, 8, 8)
    out = pooled_features([maps, torch.ones(2, 3)], grid=4)
    assert out.shape == (2, 16 + 3)
    assert out[0, 0] == maps[0, 0, :2, :2].max()  # max over the top-left 2x2 cell


def test_corruptions():
    torch.manual_seed(0)
    x = torch.full((4, 1, 32, 32), 0.5)
    masked = corrupt(x, "masking", 0.25)
    assert abs((masked == 0).float().mean().item() - 0.25) < 0.05
    sp = corrupt(x, "salt-and-pepper", 0.3)
    hit = (sp != 0.5).float().mean().item()
    assert abs(hit - 0.3) < 0.05 and set(sp[sp != 0.5].unique().tolist()) <= {0.0, 1.0}
    g = corrupt(x, "gaussian", 0.1)
    assert 0.0 <= g.min() and g.max() <= 1.0 and abs((g - x).std().item() - 0.1) < 0.02
