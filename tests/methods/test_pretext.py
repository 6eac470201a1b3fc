"""Pretext-task methods: rotation, context, colorization (geometry, labels, colour bins,
features, learning beyond chance, persistence)."""

import numpy as np
import pytest
import torch
from kornia.color import lab_to_rgb, rgb_to_lab

from tenshot import Pretrainer
from tenshot.config import TrainConfig
from tenshot.errors import ConfigError
from tenshot.methods.colorization import ColourBins, Colorization, ColorizationConfig
from tenshot.methods.context import NEIGHBOURS, Context, ContextConfig, PatchGrid, crop, patch_grid, sample_positions
from tenshot.methods.rotation import Rotation, RotationConfig, centre_square, rotations
from tenshot.training import fit

TINY = {"width": 4, "latent_dim": 8}
CPU = dict(accelerator="cpu", devices="1", progress=False)


# --- rotation -------------------------------------------------------------------------------
def test_rotations_are_exact_quarter_turns_with_their_labels():
    x = torch.zeros(2, 1, 4, 4)
    x[0, 0, 0, 0] = 1.0  # image 0: a dot in the top-left corner
    x[1] = torch.rand(1, 4, 4)
    views, labels = rotations(x)
    assert views.shape == (8, 1, 4, 4)
    assert labels.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    # counter-clockwise: the top-left dot goes to the bottom-left, bottom-right, top-right corner
    corners = [tuple(torch.nonzero(views[2 * k, 0])[0].tolist()) for k in range(4)]
    assert corners == [(0, 0), (3, 0), (3, 3), (0, 3)]
    for k in range(4):
        assert torch.equal(views[2 * k + 1], torch.rot90(x[1], k, dims=(1, 2)))
    with pytest.raises(ValueError, match="square"):
        rotations(torch.rand(1, 1, 4, 5))


def test_non_square_images_are_rotated_as_their_centre_square():
    x = torch.arange(3 * 5, dtype=torch.float32).view(1, 1, 3, 5)
    assert torch.equal(centre_square(x), x[:, :, :, 1:4])
    method = Rotation(RotationConfig(**TINY), (3, 12, 20))
    assert torch.isfinite(method.losses(torch.rand(4, 3, 12, 20))["loss"])
    assert method.features(torch.rand(4, 3, 12, 20)).shape[0] == 4


def gradients(n: int, size: int = 8, seed: int = 0) -> torch.Tensor:
    """Images bright at the top, dark at the bottom, with noise: which way is up is learnable."""
    g = torch.Generator().manual_seed(seed)
    ramp = torch.linspace(1, 0, size).view(1, 1, size, 1).expand(n, 1, size, size)
    return (0.7 * ramp + 0.3 * torch.rand(n, 1, size, size, generator=g)).clamp(0, 1)


def test_rotation_training_beats_chance_on_held_out_images():
    torch.manual_seed(0)
    method = Rotation(RotationConfig(width=8, latent_dim=16, n_blocks=2), (1, 8, 8))
    train = TrainConfig(epochs=10, batch_size=16, lr=3e-3, **CPU)
    record = fit(method, gradients(64), train)
    assert record["final"]["pretext_acc"] > 0.6  # chance: 0.25
    assert method.test_metrics(gradients(32, seed=1))["test_pretext_acc"] > 0.6


# --- context ----------------------------------------------------------------------------------
@pytest.mark.parametrize("size, expected", [(28, (7, 2, 1)), (32, (8, 2, 1)), (12, (3, 1, 0)), (8, (2, 1, 0))])
def test_patch_grid_from_the_image_size(size, expected):
    grid = patch_grid(size, size)
    assert (grid.patch, grid.gap, grid.jitter) == expected and grid.extent <= size
    assert PatchGrid(7, 2, 1).stride == 9 and PatchGrid(7, 2, 1).extent == 3 * 7 + 2 * 2 + 2 * 1


@pytest.mark.parametrize("size", range(5, 80))
def test_auto_patch_is_the_largest_that_fits_with_jitter_below_gap(size):
    grid = patch_grid(size, size + 3)  # the smaller side decides
    assert grid.extent <= size and grid.jitter < grid.gap
    bigger = patch_grid(1000, 1000, patch=grid.patch + 1)
    assert bigger.extent > size


def test_patch_grid_errors_say_what_to_change():
    with pytest.raises(ConfigError, match="too small"):
        patch_grid(4, 4)
    with pytest.raises(ConfigError, match="lower --patch-size"):
        patch_grid(28, 28, patch=9)
    with pytest.raises(ConfigError, match="jitter 2 must be smaller than gap 2"):
        patch_grid(28, 28, gap=2, jitter=2)
    with pytest.raises(ConfigError, match="too small"):
        Context(ContextConfig(**TINY), (1, 4, 4))


@pytest.mark.parametrize("size", [28, 8, 13])
def test_sampled_pairs_stay_inside_with_a_gap_and_bounded_jitter(size):
    grid = patch_grid(size, size)
    centre, neighbour, label = sample_positions(4000, size, size, grid, torch.Generator().manual_seed(0))
    p = grid.patch
    for corner in (centre, neighbour):
        assert corner.min() >= 0 and corner.max() <= size - p
    assert set(label.tolist()) == set(range(8))
    shift = neighbour - centre - NEIGHBOURS[label] * grid.stride  # the jitter
    assert shift.abs().max() <= grid.jitter
    if grid.jitter:
        assert shift.min() == -grid.jitter and shift.max() == grid.jitter
    # No overlap: along each axis where the neighbour moved, a gap of at least gap - jitter >= 1.
    moved = NEIGHBOURS[label] != 0
    distance = (neighbour - centre).abs()
    assert (distance[moved] - p).min() >= grid.gap - grid.jitter >= 1
    assert (distance[~moved] <= grid.jitter).all()
    assert len(set(map(tuple, centre.tolist()))) > 1 or size - grid.extent == 0  # the grid moves when it can


def test_crop_gathers_the_patches_at_the_corners():
    x = torch.arange(2 * 3 * 10 * 10, dtype=torch.float32).view(2, 3, 10, 10)
    image, corner = torch.tensor([1, 0]), torch.tensor([[2, 5], [7, 0]])
    patches = crop(x, image, corner, 3)
    assert torch.equal(patches[0], x[1, :, 2:5, 5:8]) and torch.equal(patches[1], x[0, :, 7:10, 0:3])


@pytest.mark.parametrize("shape", [(1, 28, 28), (1, 8, 8), (3, 12, 12)])
def test_context_is_an_8_way_siamese_classifier(shape):
    method = Context(ContextConfig(**TINY, pairs=3), shape)
    assert method.head[-1].out_features == 8
    seen = []
    method.encoder.register_forward_hook(lambda m, inputs, out: seen.append(inputs[0].shape))
    terms = method.losses(torch.rand(5, *shape))
    p = method.layout.patch
    assert seen == [(2 * 5 * 3, shape[0], p, p)]  # one encoder pass: centres and neighbours
    assert set(terms) == {"loss", "pretext_acc"} and 0 <= terms["pretext_acc"] <= 1
    assert abs(terms["loss"].item() - np.log(8)) < 0.5  # untrained: about chance


# --- colorization -----------------------------------------------------------------------------
def test_colorization_refuses_gray_images():
    with pytest.raises(ConfigError, match=r"needs RGB images .* 1 channel \(gray\).*rotation or context"):
        Colorization(ColorizationConfig(**TINY), (1, 28, 28))


def test_lab_round_trip_and_colour_bins():
    rgb = torch.rand(4, 3, 16, 16)
    lab = rgb_to_lab(rgb)
    assert torch.allclose(lab_to_rgb(lab), rgb, atol=1e-4)
    bins = ColourBins(10)
    assert len(bins) == 261  # in-gamut cells of a 10x10 ab grid (Zhang et al. count 313 with their gamut)
    every = torch.arange(len(bins)).view(1, -1, 1)
    assert torch.equal(bins.encode(bins.decode(every)), every)  # bin -> centre -> the same bin
    ab = lab[:, 1:]
    err = (bins.decode(bins.encode(ab)) - ab).abs()
    assert err.max() <= 10 / 2 + 1e-4  # a real colour lies in its bin: within half a bin of the centre
    gray = rgb_to_lab(torch.rand(2, 1, 5, 5).expand(2, 3, 5, 5))[:, 1:]
    assert (bins.encode(gray) == bins.gray).all()
    assert len(ColourBins(20)) < len(bins)


@pytest.mark.parametrize("target", ["bins", "ab"])
def test_colorization_runs_on_rgb(target):
    method = Colorization(ColorizationConfig(**TINY, target=target, bin_size=20), (3, 12, 12))
    x = torch.rand(4, 3, 12, 12)
    terms = method.losses(x)
    assert set(terms) == {"loss", "pretext_acc", "gray_guess_acc"} and torch.isfinite(terms["loss"])
    terms["loss"].backward()
    assert method.encoder.blocks[0][0].weight.grad is not None
    gray = x[:, :1].expand(4, 3, 12, 12)
    assert method.losses(gray)["gray_guess_acc"] == 1.0
    out = method.colorize(x)
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    assert method.encoder.blocks[0][0].in_channels == 1  # the net sees lightness only


# --- all three --------------------------------------------------------------------------------
METHODS = {"rotation": (Rotation, RotationConfig, (1, 28, 28)), "context": (Context, ContextConfig, (1, 28, 28)),
           "colorization": (Colorization, ColorizationConfig, (3, 28, 28))}


@pytest.mark.parametrize("name", list(METHODS))
@pytest.mark.parametrize("block, dim", [(1, 4 * 16), (2, 8 * 16), (3, 16 * 16), (0, (4 + 8 + 16) * 16)])
def test_transform_is_the_chosen_block_max_pooled_to_a_grid(name, block, dim):
    method_cls, config_cls, shape = METHODS[name]
    method = method_cls(config_cls(**TINY, feature_block=block), shape)  # 28x28: blocks 14, 7, 4 pixels a side
    assert method.features(torch.rand(3, *shape)).shape == (3, dim)
    grid2 = method_cls(config_cls(**TINY, feature_block=block, grid=2), shape)
    assert grid2.features(torch.rand(3, *shape)).shape == (3, dim // 4)


@pytest.mark.parametrize("name", list(METHODS))
def test_config_rejects_unknown_keys_and_bad_blocks(name):
    _, config_cls, _ = METHODS[name]
    with pytest.raises(ConfigError, match="unknown option"):
        config_cls.from_dict({"widht": 8})
    with pytest.raises(ConfigError, match="feature_block=4 but the encoder has 3 blocks"):
        config_cls.from_dict({"feature_block": 4})
    with pytest.raises(ConfigError, match="unknown option"):
        Pretrainer(name, latnt_dim=3).check()


@pytest.mark.parametrize("name", list(METHODS))
@pytest.mark.parametrize("depth", [1, 2])  # 2: a same-resolution conv after each stride-2 one
def test_save_load_round_trip_gives_identical_features(name, depth, tmp_path):
    shape = (3, 12, 12)
    x = np.random.default_rng(0).uniform(size=(24, *shape)).astype(np.float32)
    options = {"bin_size": 20} if name == "colorization" else {}
    options["depth"] = depth
    rep = Pretrainer(name, epochs=1, batch_size=8, **TINY, **options, **CPU).fit(x)
    assert "pretext_acc" in rep.history_["final"]
    rep.save(tmp_path / name)
    again = Pretrainer.load(tmp_path / name)
    assert np.array_equal(again.transform(x), rep.transform(x))
    metrics = rep.model_.test_metrics(torch.from_numpy(x))
    assert metrics == rep.model_.test_metrics(torch.from_numpy(x))  # seeded: the same every time
    assert 0 <= metrics["test_pretext_acc"] <= 1
