from dataclasses import dataclass
from typing import Literal

import pytest

from tenshot.config import Config, TrainConfig, opt
from tenshot.errors import ConfigError
from tenshot.registry import METHODS


@dataclass
class Toy(Config):
    kind: Literal["a", "b"] = opt("a", "kind")
    sizes: tuple[int, ...] = opt((4, 2), "sizes", positive=True)
    rate: float = opt(0.5, "rate")
    limit: int | None = opt(None, "limit", positive=True)


def test_round_trip_and_coercion():
    cfg = Toy.from_dict({"kind": "b", "sizes": [8, 4], "rate": 1, "limit": 3})
    assert cfg == Toy(kind="b", sizes=(8, 4), rate=1.0, limit=3)
    assert Toy.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize(
    "values, fragment",
    [
        ({"knd": "a"}, "unknown option(s) knd"),
        ({"kind": "c"}, "choose one of: a, b"),
        ({"sizes": [4, 0]}, "sizes must be positive"),
        ({"rate": "fast"}, "must be a number"),
        ({"limit": 1.5}, "whole number"),
    ],
)
def test_rejects_bad_values(values, fragment):
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        Toy.from_dict(values)


def test_train_config_rejects_zero_epochs_and_negative_batch():
    with pytest.raises(ConfigError, match="epochs must be positive"):
        TrainConfig.from_dict(epochs=0)
    with pytest.raises(ConfigError, match="batch_size must be positive"):
        TrainConfig.from_dict(batch_size=-8)


@pytest.mark.parametrize("name", list(METHODS))
def test_every_method_config_round_trips(name):
    _, config_cls = METHODS[name]
    cfg = config_cls.from_dict()
    assert config_cls.from_dict(cfg.to_dict()) == cfg
