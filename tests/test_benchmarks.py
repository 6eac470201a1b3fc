"""The benchmark scripts' shared option parsing (the scripts themselves are run by hand)."""

import os
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from _common import dev_split, machine, out_path, parse_sets  # noqa: E402


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


def _dataset(n: int = 12, labeled: bool = True):
    from tenshot.data import Dataset

    x = torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1)
    y = torch.arange(n) % 3 if labeled else None
    return Dataset("toy", x, y, x[:2] + 100, None if y is None else y[:2], ["a", "b", "c"])


def test_dev_split_scores_the_last_train_images_and_never_holds_the_test_split():
    dev = dev_split(_dataset(), 4)
    assert dev.x_train.flatten().tolist() == list(range(8))  # labels and training come from these only
    assert dev.x_test.flatten().tolist() == [8, 9, 10, 11]  # scored: the last 4 train images
    assert dev.y_test.tolist() == [2, 0, 1, 2] and 100.0 not in dev.x_test  # no test image anywhere
    assert dev.classes == ["a", "b", "c"] and "dev" in dev.name


def test_dev_split_none_is_the_dataset_itself():
    ds = _dataset()
    assert dev_split(ds, None) is ds


@pytest.mark.parametrize(("n", "labeled", "message"), [
    (0, True, "between 1 and 11"), (12, True, "between 1 and 11"), (3, False, "needs labeled train images"),
])
def test_dev_split_bad_size_or_unlabeled_data_is_a_clear_error(n, labeled, message):
    with pytest.raises(SystemExit, match=message):
        dev_split(_dataset(labeled=labeled), n)


def test_a_dev_run_writes_beside_the_test_figures_not_over_them():
    assert out_path(None, "semisup", None).endswith("benchmarks/semisup.json")
    assert out_path(None, "semisup", 10000).endswith("benchmarks/semisup_dev.json")
    assert out_path("x.json", "semisup", 10000) == "x.json"


def test_machine_names_the_cpu_and_whether_it_has_native_bf16():
    info = machine()
    assert isinstance(info["cpu"], str)
    assert info["cpu_bf16_native"] is bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    assert info["cpu_count"] == os.cpu_count()
