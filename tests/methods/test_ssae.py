"""Semi-supervised autoencoders: the joint loss, the classifier API, the semisup verb."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tenshot import Pretrainer
from tenshot.api import SemiSupervisedClassifier
from tenshot.cli import main
from tenshot.errors import ConfigError, DataError
from tenshot.methods.ssae import SemiSupervisedAE, SSAEConfig

SMALL = dict(epochs=15, batch_size=16, encoder="mlp", hidden=(32,), latent_dim=8, accelerator="cpu")


def test_joint_loss_adds_only_the_weighted_cross_entropy():
    torch.manual_seed(0)
    m = SemiSupervisedAE(SSAEConfig(n_classes=3, latent_dim=4, width=4, classifier_weight=2.5), (1, 8, 8))
    m.eval()  # no corruption, deterministic
    x, y = torch.rand(5, 1, 8, 8), torch.tensor([0, 1, 2, 0, 1])
    terms = m.losses(x, x, y)
    unsup = m.losses(x)
    assert torch.allclose(terms["loss"], unsup["loss"] + 2.5 * terms["classification"])
    assert torch.allclose(terms["classification"], torch.nn.functional.cross_entropy(m.head(m.encoder(x)), y))


def test_classifier_learns_from_few_labels_and_round_trips(tiny_ds, tmp_path):
    y = np.full(len(tiny_ds.y_train), -1)
    labeled = np.concatenate([np.flatnonzero(tiny_ds.y_train.numpy() == c)[:2] for c in range(3)])
    y[labeled] = tiny_ds.y_train.numpy()[labeled] + 10  # arbitrary label values
    clf = SemiSupervisedClassifier("ssae", **SMALL).fit(tiny_ds.x_train, y)
    assert clf.classes_.tolist() == [10, 11, 12]
    proba = clf.predict_proba(tiny_ds.x_test)
    assert proba.shape == (len(tiny_ds.x_test), 3) and np.allclose(proba.sum(1), 1, atol=1e-5)
    assert clf.score(tiny_ds.x_test, tiny_ds.y_test.numpy() + 10) > 0.6
    clf.save(tmp_path / "run")
    again = SemiSupervisedClassifier.load(tmp_path / "run")
    assert np.array_equal(again.predict(tiny_ds.x_test), clf.predict(tiny_ds.x_test))
    assert Pretrainer.load(tmp_path / "run").transform(tiny_ds.x_test).shape[0] == len(tiny_ds.x_test)


def test_api_errors(tiny_ds):
    with pytest.raises(ConfigError, match="not semi-supervised"):
        SemiSupervisedClassifier("autoencoder").fit(tiny_ds.x_train, tiny_ds.y_train)
    with pytest.raises(ConfigError, match="semi-supervised: run `tenshot semisup"):
        Pretrainer("ssae").fit(tiny_ds.x_train)
    with pytest.raises(DataError, match="at least two"):
        SemiSupervisedClassifier("ssae", **SMALL).fit(tiny_ds.x_train, np.full(len(tiny_ds.x_train), -1))


def test_semisup_cli(capsys, tmp_path, tiny_npz):
    out = tmp_path / "run"
    code = main(["semisup", "ssae", "--data", tiny_npz, "--labels-per-class", "3", "--out", str(out),
                 "--epochs", "2", "--encoder", "mlp", "--hidden", "16", "--latent-dim", "4", "--no-progress"])
    assert code == 0, capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0 <= metrics["test_accuracy"] <= 1 and metrics["label_seed"] == 0 and metrics["n_labeled"] == 9
    assert len(metrics["curves"]) == 2 and "classification" in metrics["curves"][0]
    assert "test accuracy" in capsys.readouterr().out
    n_train = metrics["n_unlabeled"]
    code = main(["semisup", "ssae", "--data", tiny_npz, "--labels-per-class", "3", "--out", str(tmp_path / "sub"),
                 "--epochs", "1", "--max-train", "40", "--encoder", "mlp", "--hidden", "16", "--latent-dim", "4",
                 "--no-progress"])
    assert code == 0, capsys.readouterr().err
    sub = json.loads((tmp_path / "sub" / "metrics.json").read_text())
    assert n_train > 40 and sub["n_unlabeled"] == sub["train_samples"] == 40  # reports the subset it trained on
    assert "9 labeled, 40 unlabeled images" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["semisup", "ssae", "--labels-per-class", "21"], "use --labels-per-class 20 or fewer"),
    (["semisup", "autoencoder", "--labels-per-class", "2"], "not semi-supervised"),
    (["pretrain", "ssae"], "semi-supervised: run `tenshot semisup"),
])
def test_semisup_bad_input(capsys, tmp_path, tiny_npz, argv, message):
    code = main([*argv, "--data", tiny_npz, "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error:") and message in err[0]
    assert not (tmp_path / "r").exists()


def test_semisup_unlabeled_data_and_class_mismatch(capsys, tmp_path):
    np.savez(tmp_path / "u.npz", x=np.random.default_rng(0).random((12, 6, 6)))
    np.savez(tmp_path / "m.npz", x=np.random.default_rng(0).random((12, 6, 6)), y=np.arange(12) % 2,
             x_test=np.zeros((3, 6, 6)), y_test=np.array([0, 1, 2]))
    for spec, message in ((f"npz:{tmp_path / 'u.npz'}", "has no labels"), (f"npz:{tmp_path / 'm.npz'}", "absent from the labeled")):
        code = main(["semisup", "ssae", "--data", spec, "--labels-per-class", "2", "--out", str(tmp_path / "r")])
        err = capsys.readouterr().err
        assert code == 2 and message in err, err
