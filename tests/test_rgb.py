"""RGB end to end: a ``folder:DIR`` of colour images (patches of scikit-learn's two sample
photographs) through `tenshot pretrain` and `tenshot probe`, and colorization's clear
refusal of gray data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tenshot.cli import main
from tenshot.data import load_dataset

TINY = ["--epochs", "1", "--batch-size", "32", "--width", "4", "--latent-dim", "16", "--no-progress"]


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def rgb_spec(rgb_patches_folder: Path) -> str:
    return f"folder:{rgb_patches_folder}"


def test_the_folder_is_labeled_rgb(rgb_spec):
    ds = load_dataset(rgb_spec)
    assert ds.x_train.shape[1:] == (3, 32, 32) and ds.x_test.shape[1:] == (3, 32, 32)
    assert len(ds.classes) == 8 and len(ds.x_train) + len(ds.x_test) == 2 * 12 * 20
    assert ds.x_train.std(dim=(0, 2, 3)).min() > 0.1  # real colour, not gray copied thrice


def test_colorization_pretrain_then_probe(capsys, tmp_path, rgb_spec):
    run = tmp_path / "color"
    code, out, err = run_cli(capsys, "pretrain", "colorization", "--data", rgb_spec, "--out", run, *TINY, "--bin-size", "20")
    assert code == 0, err
    metrics = json.loads((run / "metrics.json").read_text())
    assert {"pretext_acc", "gray_guess_acc"} <= set(metrics["final"]) and 0 <= metrics["test_pretext_acc"] <= 1
    code, out, err = run_cli(capsys, "probe", run, "--data", rgb_spec, "--labels-per-class", "2,5", "--seeds", "2",
                             "--probe", "knn", "--out", tmp_path / "probe.json")  # knn: the fastest probe to fit
    assert code == 0, err
    results = json.loads((tmp_path / "probe.json").read_text())["results"]
    assert [r["labels_per_class"] for r in results] == [2, 5] and all(len(r["accuracies"]) == 2 for r in results)
    assert results[-1]["accuracy_mean"] > 1 / 8  # 8 classes: better than chance


def test_rotation_pretrains_on_rgb(capsys, tmp_path, rgb_spec):
    run = tmp_path / "rot"
    code, _, err = run_cli(capsys, "pretrain", "rotation", "--data", rgb_spec, "--out", run, *TINY, "--feature-block", "1")
    assert code == 0, err
    config = json.loads((run / "config.json").read_text())
    assert config["input_shape"] == [3, 32, 32] and config["method_config"]["feature_block"] == 1
    assert "test_pretext_acc" in json.loads((run / "metrics.json").read_text())


def test_colorization_on_gray_data_is_one_clear_error(capsys, tmp_path, tiny_npz):
    code, out, err = run_cli(capsys, "pretrain", "colorization", "--data", tiny_npz, "--out", tmp_path / "c", *TINY)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: colorization needs RGB images"), err
    assert "Traceback" not in out + err
    assert not (tmp_path / "c").exists(), "refused before any run folder is written"
