"""S4L-Rotation: the joint loss, the augmented labeled batch, the classifier and its features."""

from __future__ import annotations

import json

import numpy as np
import torch
import torch.nn.functional as F

from tenshot import Pretrainer
from tenshot.api import SemiSupervisedClassifier
from tenshot.cli import main
from tenshot.methods.rotation import Rotation, RotationConfig
from tenshot.methods.s4l import S4LConfig, S4LRotation

SMALL = dict(epochs=12, batch_size=16, width=4, latent_dim=16, accelerator="cpu")


def test_loss_is_the_rotation_loss_plus_the_weighted_cross_entropy_of_its_own_head():
    torch.manual_seed(0)
    m = S4LRotation(S4LConfig(n_classes=3, width=4, latent_dim=8, classifier_weight=2.5), (1, 8, 8))
    m.eval()  # no augmentation: deterministic
    x, y = torch.rand(5, 1, 8, 8), torch.tensor([0, 1, 2, 0, 1])
    terms = m.losses(x, x[:3], y[:3])
    rotation_only = m.losses(x)
    assert torch.allclose(terms["loss"], rotation_only["loss"] + 2.5 * terms["classification"])
    assert torch.allclose(terms["classification"], F.cross_entropy(m.class_head(m.encoder(x[:3])), y[:3]))
    # the pretext head stays rotation's: same layers, same loss on the same weights
    rot = Rotation(RotationConfig(width=4, latent_dim=8), (1, 8, 8))
    rot.load_state_dict({k: v for k, v in m.state_dict().items() if not k.startswith("class_head.")})
    rot.eval()
    assert torch.allclose(rot.losses(x)["loss"], rotation_only["loss"])


def test_labeled_images_are_augmented_like_the_unlabeled_ones_in_training_only():
    m = S4LRotation(S4LConfig(n_classes=2, width=4, latent_dim=8), (1, 8, 8))
    seen: list[int] = []
    m.augment.register_forward_pre_hook(lambda module, args: seen.append(len(args[0])))
    x, y = torch.rand(6, 1, 8, 8), torch.tensor([0, 1])
    m.train()
    m.losses(x, x[:2], y)
    assert sorted(seen) == [2, 6]  # the labeled batch and the unlabeled one
    seen.clear()
    m.eval()
    m.losses(x, x[:2], y)
    assert seen == []


def test_classifier_learns_from_few_labels_and_its_encoder_gives_rotation_features(tiny_ds, tmp_path):
    y = np.full(len(tiny_ds.y_train), -1)
    labeled = np.concatenate([np.flatnonzero(tiny_ds.y_train.numpy() == c)[:2] for c in range(3)])
    y[labeled] = tiny_ds.y_train.numpy()[labeled]
    clf = SemiSupervisedClassifier("s4l", seed=0, **SMALL).fit(tiny_ds.x_train, y)
    proba = clf.predict_proba(tiny_ds.x_test)
    assert proba.shape == (len(tiny_ds.x_test), 3) and np.allclose(proba.sum(1), 1, atol=1e-5)
    assert clf.score(tiny_ds.x_test, tiny_ds.y_test.numpy()) > 0.6
    clf.save(tmp_path / "run")
    again = SemiSupervisedClassifier.load(tmp_path / "run")
    assert np.array_equal(again.predict(tiny_ds.x_test), clf.predict(tiny_ds.x_test))
    # transform: rotation's features (every conv block max-pooled to a grid), of S4L's encoder
    rot = Rotation(RotationConfig(width=4, latent_dim=16), tuple(tiny_ds.x_test.shape[1:]))
    rot.load_state_dict({k: v for k, v in clf.model_.state_dict().items() if not k.startswith("class_head.")})
    features = Pretrainer.load(tmp_path / "run").transform(tiny_ds.x_test)
    assert np.allclose(features, rot.features(tiny_ds.x_test).numpy(), atol=1e-5)


def test_semisup_s4l_then_its_features_for_the_ssgan(capsys, tmp_path, tiny_npz):
    out = tmp_path / "run"
    code = main(["semisup", "s4l", "--data", tiny_npz, "--labels-per-class", "3", "--out", str(out),
                 "--epochs", "2", "--width", "4", "--latent-dim", "8", "--no-progress"])
    assert code == 0, capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0 <= metrics["test_accuracy"] <= 1 and metrics["n_labeled"] == 9
    assert {"pretext_acc", "classification", "labeled_accuracy"} <= set(metrics["curves"][-1])
    code = main(["features", str(out), "--data", tiny_npz, "--scale", "feature", "--out", str(tmp_path / "f.npz")])
    assert code == 0, capsys.readouterr().err
    with np.load(tmp_path / "f.npz") as f:
        assert len(f["x"]) == 60 and len(f["x_test"]) == 24 and f["x"].shape[1] == f["x_test"].shape[1] > 0
        assert f["x"].min() >= 0 and f["x"].max() <= 1
