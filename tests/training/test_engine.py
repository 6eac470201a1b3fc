import json
import math
import shutil
import warnings

import pytest
import torch

from tenshot.api import Pretrainer
from tenshot.config import TrainConfig
from tenshot.errors import ConfigError, TrainingError
from tenshot.methods.autoencoder import Autoencoder, AutoencoderConfig
from tenshot.training import fit, parse_devices, seeded_subset

FAST = dict(epochs=2, batch_size=16, progress=False, accelerator="cpu", latent_dim=8, width=4)


def test_same_seed_same_metrics_and_features(tiny_ds):
    a = Pretrainer("denoising-ae", seed=3, **FAST).fit(tiny_ds.x_train)
    b = Pretrainer("denoising-ae", seed=3, **FAST).fit(tiny_ds.x_train)
    c = Pretrainer("denoising-ae", seed=4, **FAST).fit(tiny_ds.x_train)
    assert a.history_["final"] == b.history_["final"]
    assert (a.transform(tiny_ds.x_test) == b.transform(tiny_ds.x_test)).all()
    assert a.history_["final"] != c.history_["final"]


def test_training_reduces_the_loss(tiny_ds):
    rep = Pretrainer("autoencoder", **{**FAST, "epochs": 6}).fit(tiny_ds.x_train)
    curve = [row["loss"] for row in rep.history_["curves"]]
    assert len(curve) == 6 and curve[-1] < curve[0]


def test_run_folder_has_checkpoints_csv_log_and_resume(tiny_ds, tmp_path):
    run = tmp_path / "run"
    Pretrainer("autoencoder", **FAST).fit(tiny_ds.x_train, run_dir=run)
    ckpts = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert ckpts == ["epoch000.ckpt", "epoch001.ckpt", "last.ckpt"]
    assert "train/loss" in (run / "logs" / "version_0" / "metrics.csv").read_text()
    rep = Pretrainer("autoencoder", **{**FAST, "epochs": 4}).fit(tiny_ds.x_train, run_dir=run, resume=True)
    assert rep.history_["epochs"] == 4
    assert [row["epoch"] for row in rep.history_["curves"]] == [1, 2, 3, 4]  # history carried over
    assert (run / "checkpoints" / "epoch003.ckpt").exists()
    assert (run / "logs" / "version_1" / "metrics.csv").exists()  # the first log is kept


def test_a_moved_run_resumes_into_its_own_last_checkpoint(tiny_ds, tmp_path):
    # A copied or renamed run folder: Lightning does not recognise last.ckpt as its own and
    # would write last-v1.ckpt beside it, so a second --resume would go back to the old epoch.
    Pretrainer("autoencoder", **FAST).fit(tiny_ds.x_train, run_dir=tmp_path / "a")
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nor a warning about the folder's old name
        Pretrainer("autoencoder", **{**FAST, "epochs": 3}).fit(tiny_ds.x_train, run_dir=tmp_path / "b", resume=True)
    ckpts = sorted(p.name for p in (tmp_path / "b" / "checkpoints").iterdir())
    assert ckpts == ["epoch000.ckpt", "epoch001.ckpt", "epoch002.ckpt", "last.ckpt"]
    assert torch.load(tmp_path / "b" / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 2
    rep = Pretrainer("autoencoder", **{**FAST, "epochs": 4}).fit(tiny_ds.x_train, run_dir=tmp_path / "b", resume=True)
    assert [row["epoch"] for row in rep.history_["curves"]] == [1, 2, 3, 4]


class Exploding(Autoencoder):
    """Returns a NaN loss from the second epoch on."""

    def losses(self, x):
        terms = super().losses(x)
        if self._trainer is not None and self.current_epoch >= 1:
            terms["loss"] = terms["loss"] * float("nan")
        return terms


def test_nan_guard_stops_with_clear_error_and_keeps_last_good_checkpoint(tiny_ds, tmp_path):
    method = Exploding(AutoencoderConfig(latent_dim=8, width=4), tiny_ds.input_shape)
    train = TrainConfig(epochs=3, batch_size=16, progress=False, accelerator="cpu")
    with pytest.raises(TrainingError, match=r"loss became nan at epoch 2.*last good checkpoint"):
        fit(method, tiny_ds.x_train, train, run_dir=tmp_path)
    ckpt = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["epoch"] == 0  # epoch 1 (index 0) is the last good one
    assert all(torch.isfinite(v).all() for v in ckpt["state_dict"].values())


def test_first_batch_check_says_what_to_check():
    class Broken(Autoencoder):
        def losses(self, x):
            raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    method = Broken(AutoencoderConfig(latent_dim=4, width=4), (1, 8, 8))
    with pytest.raises(ConfigError, match="fails on the first batch.*Check that the method options fit"):
        fit(method, torch.rand(4, 1, 8, 8), TrainConfig(epochs=1, progress=False))


def test_parse_devices_and_subset():
    assert parse_devices("auto") == "auto" and parse_devices("2") == 2 and parse_devices("0,1") == [0, 1]
    with pytest.raises(ConfigError, match="--devices"):
        parse_devices("two")
    x = torch.arange(100).view(100, 1, 1, 1).float()
    a, b = seeded_subset(x, 10, 0), seeded_subset(x, 10, 0)
    assert torch.equal(a, b) and len(a) == 10 and not torch.equal(a, seeded_subset(x, 10, 1))


@pytest.mark.parametrize("native, precision, accelerator, warns", [
    (False, "bf16-mixed", "cpu", True),
    (True, "bf16-mixed", "cpu", False),
    (False, "32-true", "cpu", False),
])
def test_bf16_on_a_cpu_without_native_bfloat16_warns_to_use_32_true(monkeypatch, native, precision, accelerator, warns):
    from tenshot.training import engine

    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: native)
    train = TrainConfig(precision=precision, accelerator=accelerator)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        engine.warn_if_bf16_is_emulated(train)
    messages = [str(w.message) for w in caught]
    assert any("--precision 32-true" in m for m in messages) == warns
