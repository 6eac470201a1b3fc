"""The benchmark scripts' shared option parsing (the scripts themselves are run by hand)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from _common import parse_sets  # noqa: E402


def test_set_values_are_json_when_they_parse_and_keys_take_underscores():
    sets = parse_sets(["width=64", "crop-scale=[0.2, 1]", "batch_norm=true", "encoder=conv", "lr=3e-4"])
    assert sets == {"width": 64, "crop_scale": [0.2, 1], "batch_norm": True, "encoder": "conv", "lr": 3e-4}


def test_later_set_wins_and_none_is_empty():
    assert parse_sets(["width=32", "width=64"]) == {"width": 64}
    assert parse_sets([]) == {}


@pytest.mark.parametrize("item", ["width", "=64", " =1"])
def test_set_without_key_or_value_separator_is_a_clear_error(item):
    with pytest.raises(SystemExit, match="--set takes KEY=VALUE"):
        parse_sets([item])
