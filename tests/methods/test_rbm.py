import pytest
import torch

from tenshot.config import TrainConfig
from tenshot.errors import ConfigError
from tenshot.methods.rbm import DBN, RBM, DBNConfig, RBMConfig
from tenshot.training import fit

SHAPE = (1, 4, 4)


def train_config(**kw):
    return TrainConfig(**{"epochs": 1, "batch_size": 6, "accelerator": "cpu", "devices": "1", "progress": False, **kw})


def prototypes():
    top = torch.zeros(4, 4)
    top[:2] = 1  # the top half on
    left = torch.zeros(4, 4)
    left[:, :2] = 1  # the left half on
    return torch.stack([top, left]).view(2, 1, 4, 4)


def toy_data(n_per_pattern=30, flip=0.05, seed=0):
    """Two 4x4 binary prototypes, each pixel flipped with probability ``flip``."""
    g = torch.Generator().manual_seed(seed)
    x = prototypes().repeat_interleave(n_per_pattern, 0)
    noise = torch.rand(x.shape, generator=g) < flip
    return torch.where(noise, 1 - x, x)


@pytest.mark.parametrize("options", [{"persistent": False, "k": 2}, {"persistent": True, "n_chains": 5}], ids=["cd2", "pcd"])
def test_one_step_changes_weights_and_logs_finite_terms(options):
    train = train_config()
    torch.manual_seed(0)
    rbm = RBM(RBMConfig(n_hidden=8, **options), (1, 8, 8), train)
    assert hasattr(rbm.rbms[0], "chains") == options["persistent"]
    before = {k: v.clone() for k, v in rbm.state_dict().items()}
    record = fit(rbm, torch.rand(6, 1, 8, 8), train)
    assert set(record["final"]) == {"loss", "free_energy", "pseudo_log_likelihood"}
    assert all(torch.isfinite(torch.tensor(v)) for v in record["final"].values())
    after = rbm.state_dict()
    assert all(not torch.equal(before[k], after[k]) for k in before), "weights, biases (and chains) must move"
    if options["persistent"]:
        chains = after["rbms.0.chains"]
        assert chains.shape == (5, 64) and set(chains.unique().tolist()) <= {0.0, 1.0}


def test_persistent_chains_survive_a_state_dict_round_trip():
    a, b = (RBM(RBMConfig(n_hidden=8, persistent=True, n_chains=3), SHAPE) for _ in range(2))
    b.load_state_dict(a.state_dict(), strict=True)
    assert torch.equal(a.rbms[0].chains, b.rbms[0].chains)


# PCD wants the smaller step: its chains must keep up with the changing model (Tieleman 2008).
@pytest.mark.parametrize(
    "options, epochs, lr", [({"persistent": False}, 15, 0.1), ({"persistent": True, "n_chains": 10}, 20, 0.05)], ids=["cd1", "pcd"]
)
def test_toy_training_raises_pseudo_likelihood_and_samples_resemble_prototypes(options, epochs, lr):
    x, held_out = toy_data(), toy_data(200, seed=1)  # many held-out images: the PLL estimate is stochastic
    train = train_config(epochs=epochs, batch_size=10, lr=lr)
    torch.manual_seed(0)
    rbm = RBM(RBMConfig(n_hidden=8, sample_steps=200, **options), SHAPE, train)
    noise = torch.bernoulli(torch.full((400, *SHAPE), 0.5), generator=torch.Generator().manual_seed(2))

    def scores():
        data, rand = rbm.test_metrics(held_out), rbm.test_metrics(noise)
        return data["test_pseudo_log_likelihood"], data["test_free_energy"] - rand["test_free_energy"]

    pll0, gap0 = scores()
    fit(rbm, x, train)
    pll1, gap1 = scores()
    assert pll1 > pll0 + 3, "the pseudo-log-likelihood of the data must rise"
    assert gap1 < gap0 - 5, "the data's free energy must fall below that of random images"

    samples = rbm.sample(20, torch.Generator().manual_seed(0))
    assert samples.shape == (20, *SHAPE) and samples.min() >= 0 and samples.max() <= 1
    distance = (samples[:, None] - prototypes()[None]).abs().flatten(2).mean(2)  # (20, 2) to each prototype
    # Each sample near one prototype (a random image is 0.5 away from both).
    assert distance.min(1).values.mean() < 0.2, "samples must look like one of the prototypes"
    assert torch.equal(samples, rbm.sample(20, torch.Generator().manual_seed(0))), "a seeded generator repeats"


def test_visible_biases_start_from_the_data():
    x = toy_data()
    train = train_config(batch_size=60, lr=1e-6)  # one step that barely moves anything
    rbm = RBM(RBMConfig(n_hidden=8), SHAPE, train)
    fit(rbm, x, train)
    p = x.flatten(1).mean(0).clamp(0.01, 0.99)
    assert torch.allclose(rbm.rbms[0].visible_bias, torch.log(p / (1 - p)), atol=1e-4)


class RecordingDBN(DBN):
    """Snapshots the weights at the start of every epoch, through the real engine."""

    def on_train_epoch_start(self):
        self.snapshots = getattr(self, "snapshots", []) + [[r.weight.detach().clone() for r in self.rbms]]


def test_dbn_greedy_stages_freeze_lower_layers():
    train = train_config(lr=0.01)
    torch.manual_seed(0)
    dbn = RecordingDBN(DBNConfig(layers=(8, 4), persistent=True, n_chains=4), SHAPE, train)
    assert dbn.total_epochs(2) == 4 and dbn.total_epochs(1) == 2  # --epochs per layer, no fine-tuning
    record = fit(dbn, torch.rand(12, *SHAPE), train)
    (l1_e0, l2_e0), (l1_e1, l2_e1) = dbn.snapshots
    l1_end, l2_end = (r.weight.detach() for r in dbn.rbms)
    assert not torch.equal(l1_e0, l1_e1) and torch.equal(l2_e0, l2_e1)  # stage 0 trains layer 1 only
    assert torch.equal(l1_e1, l1_end) and not torch.equal(l2_e1, l2_end)  # stage 1: layer 1 frozen
    assert record["final"]["stage"] == 1.0 and "layer2_pseudo_log_likelihood" in record["final"]
    metrics = dbn.test_metrics(torch.rand(5, *SHAPE))
    assert set(metrics) == {f"test_layer{i}_{m}" for i in (1, 2) for m in ("pseudo_log_likelihood", "free_energy")}


def test_features_and_sample_shapes():
    x = torch.rand(3, *SHAPE)
    assert RBM(RBMConfig(n_hidden=8), SHAPE).features(x).shape == (3, 8)
    top = DBN(DBNConfig(layers=(8, 4)), SHAPE)
    assert top.features(x).shape == (3, 4)
    both = DBN(DBNConfig(layers=(8, 4), features="all"), SHAPE)
    z = both.features(x)
    assert z.shape == (3, 12) and ((z >= 0) & (z <= 1)).all()
    s = DBN(DBNConfig(layers=(8, 4), sample_steps=5), SHAPE).sample(5, torch.Generator().manual_seed(0))
    assert s.shape == (5, *SHAPE) and s.min() >= 0 and s.max() <= 1


@pytest.mark.parametrize(
    "cls, values, message",
    [
        (RBMConfig, {"k": 0}, "k must be positive"),
        (RBMConfig, {"n_hidden": -5}, "n_hidden must be positive"),
        (RBMConfig, {"persistent": "yes"}, "must be true or false"),
        (RBMConfig, {"layers": [8]}, "unknown option.*valid options"),
        (DBNConfig, {"layers": []}, "give at least one hidden layer size"),
        (DBNConfig, {"layers": [8, 0]}, "layers must be positive"),
        (DBNConfig, {"features": "bottom"}, "choose one of: all, top"),
    ],
)
def test_configs_reject_bad_values(cls, values, message):
    with pytest.raises(ConfigError, match=message):
        cls.from_dict(values)


def test_pixels_outside_the_unit_range_are_refused_before_training():
    with pytest.raises(ConfigError, match="rescale the images"):
        fit(RBM(RBMConfig(n_hidden=4), SHAPE), 255 * torch.rand(6, *SHAPE), train_config())
