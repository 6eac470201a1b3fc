"""Every CLI verb end to end, and every bad input of the contract: one `error:` line,
exit 2, no traceback, and the existing run left exactly as it was."""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tenshot.cli import main

TINY = ["--epochs", "1", "--batch-size", "16", "--encoder", "mlp", "--hidden", "32", "--latent-dim", "8", "--no-progress"]


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def npz_spec(tmp_path_factory, blob_images) -> str:
    x, y = blob_images(20, 3, shape=(1, 8, 8))
    xt, yt = blob_images(8, 3, shape=(1, 8, 8), seed=1)
    path = tmp_path_factory.mktemp("data") / "tiny.npz"
    np.savez(path, x=x[:, 0].numpy(), y=y.numpy(), x_test=xt[:, 0].numpy(), y_test=yt.numpy())
    return f"npz:{path}"


@pytest.fixture(scope="module")
def run(tmp_path_factory, npz_spec) -> Path:
    """An existing run, trained once; every bad-input test checks it is left intact."""
    out = tmp_path_factory.mktemp("runs") / "ae"
    assert main(["pretrain", "autoencoder", "--data", npz_spec, "--out", str(out), *TINY]) == 0
    return out


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory, npz_spec) -> Path:
    out = tmp_path_factory.mktemp("runs") / "vae"
    argv = ["pretrain", "vae", "--data", npz_spec, "--out", str(out), "--epochs", "2", "--batch-size", "16",
            "--encoder", "mlp", "--hidden", "32", "--latent-dim", "4", "--ll-samples", "3", "--no-progress"]
    assert main(argv) == 0
    return out


def test_sample_and_score(capsys, tmp_path, vae_run):
    assert "test_elbo" in json.loads((vae_run / "metrics.json").read_text())
    code, out, err = run_cli(capsys, "sample", vae_run, "--n", "9", "--out", tmp_path / "s.png", "--nearest")
    assert code == 0, err
    assert Image.open(tmp_path / "s.png").size[0] > Image.open(tmp_path / "s.png").size[1]  # pairs side by side
    code, out, err = run_cli(capsys, "score", vae_run, "--n", "24")
    assert code == 0, err
    metrics = json.loads((vae_run / "metrics.json").read_text())
    assert {"fid", "kid", "inception_score", "real_floor"} <= set(metrics)
    assert metrics["extractor"]["name"] == "domain" and "real floor" in out


GENERATIVE_TINY = {
    "gan": ["--hidden", "16", "--latent-dim", "4"],
    "dcgan": ["--width", "4", "--latent-dim", "4", "--virtual-batchnorm"],
    "rbm": ["--n-hidden", "8", "--n-chains", "16", "--sample-steps", "20"],  # samples by Gibbs chains
}


@pytest.mark.parametrize("method", list(GENERATIVE_TINY))
def test_pretrain_then_sample_every_generative_family(capsys, tmp_path, npz_spec, method):
    out = tmp_path / method
    code, _, err = run_cli(capsys, "pretrain", method, "--data", npz_spec, "--out", out, "--epochs", "1",
                           "--batch-size", "16", "--no-progress", *GENERATIVE_TINY[method])
    assert code == 0, err
    code, _, err = run_cli(capsys, "sample", out, "--n", "6", "--out", tmp_path / "g.png", "--nearest", "--data", npz_spec)
    assert code == 0, err
    grid = np.asarray(Image.open(tmp_path / "g.png"))
    assert grid.shape[1] > grid.shape[0] and grid.std() > 0  # sample|nearest pairs side by side, not a blank image


def test_too_few_images_for_the_exemplar_classes_is_refused_before_a_run_is_written(capsys, tmp_path, npz_spec):
    code, out, err = run_cli(capsys, "pretrain", "exemplar", "--data", npz_spec, "--out", tmp_path / "ex",
                             "--n-exemplars", "1000", "--epochs", "1", "--no-progress")
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "pass n_exemplars=60 or fewer" in lines[0], err
    assert not (tmp_path / "ex").exists()


def test_methods(capsys):
    code, out, _ = run_cli(capsys, "methods")
    assert code == 0
    names = [line.split()[0] for line in out.splitlines()]
    assert {"autoencoder", "sparse-ae", "denoising-ae", "stacked-ae"} <= set(names)


def test_pretrain_writes_the_run(run):
    assert {"config.json", "model.safetensors", "metrics.json"} <= {p.name for p in run.iterdir()}
    config = json.loads((run / "config.json").read_text())
    assert config["method"] == "autoencoder" and config["status"] == "done"
    assert list((run / "checkpoints").glob("*.ckpt")) and list((run / "logs").rglob("metrics.csv"))


def test_pretrain_resume_and_force(capsys, tmp_path, npz_spec):
    out = tmp_path / "r"
    assert run_cli(capsys, "pretrain", "autoencoder", "--data", npz_spec, "--out", out, *TINY)[0] == 0
    code, _, err = run_cli(capsys, "pretrain", "autoencoder", "--data", npz_spec, "--out", out, "--resume", "--epochs", "2")
    assert code == 0, err
    assert json.loads((out / "metrics.json").read_text())["epochs"] == 2
    # the first command with --resume added: repeating the run's own options is no change
    code, _, err = run_cli(capsys, "pretrain", "autoencoder", "--data", npz_spec, "--out", out, *TINY[2:], "--resume", "--epochs", "3")
    assert code == 0, err
    assert json.loads((out / "metrics.json").read_text())["epochs"] == 3
    code, _, err = run_cli(capsys, "pretrain", "denoising-ae", "--data", npz_spec, "--out", out, "--force", *TINY)
    assert code == 0, err
    assert json.loads((out / "config.json").read_text())["method"] == "denoising-ae"


def test_probe_run_and_baseline(capsys, tmp_path, run, npz_spec):
    out = tmp_path / "p.json"
    code, stdout, err = run_cli(capsys, "probe", run, "--data", npz_spec, "--labels-per-class", "1,5,all",
                                "--probe", "linear,knn,lda", "--seeds", "2", "--out", out)
    assert code == 0, err
    report = json.loads(out.read_text())
    assert report["source"] == "ae" and report["data"] == npz_spec
    assert [(r["labels_per_class"], r["probe"]) for r in report["results"]] == [
        (n, p) for n in (1, 5, "all") for p in ("linear", "knn", "lda")]
    assert report["results"][-1]["selection"][0]["shrinkage"] == "ledoit-wolf"
    assert all(len(r["accuracies"]) == 2 for r in report["results"]) and out.with_suffix(".png").exists()
    assert "| ae | linear |" in stdout
    code, _, err = run_cli(capsys, "probe", run, "--data", npz_spec, "--labels-per-class", "5",
                           "--probe", "self-train", "--seeds", "1", "--out", tmp_path / "st.json")
    assert code == 0, err
    (st,) = json.loads((tmp_path / "st.json").read_text())["results"]
    assert st["probe"] == "self-train" and st["selection"][0]["n_unlabeled"] > 0
    code, stdout, err = run_cli(capsys, "probe", "pca", "--data", npz_spec, "--labels-per-class", "5", "--out", tmp_path / "b.json")
    assert code == 0, err
    assert "| pca | linear |" in stdout


def test_features_then_semisup_on_them(capsys, tmp_path, run, npz_spec):
    """`features` writes the run's features with the labels; unit-scaled, they are data
    that `semisup ssgan` takes (its MLP, as for any vectors)."""
    from tenshot.api import Pretrainer

    src = np.load(npz_spec[4:])
    raw = Pretrainer.load(run).transform(src["x"][:, None])  # (N, 1, H, W), as the loader gives them
    code, out, err = run_cli(capsys, "features", run, "--data", npz_spec, "--out", tmp_path / "f.npz")
    assert code == 0, err
    assert f"60 train and 24 test rows of {raw.shape[1]} features (scale: unit)" in out
    f = np.load(tmp_path / "f.npz")
    lo, hi = np.percentile(raw, [0.1, 99.9])
    assert np.allclose(f["scale_range"], [lo, hi])
    assert np.allclose(f["x"], np.clip((raw - lo) / (hi - lo), 0, 1), atol=1e-6) and f["x"].min() >= 0 and f["x"].max() <= 1
    assert f["x_test"].shape == (24, raw.shape[1]) and np.array_equal(f["y"], src["y"]) and np.array_equal(f["y_test"], src["y_test"])
    code, out, err = run_cli(capsys, "features", run, "--data", npz_spec, "--out", tmp_path / "pf.npz", "--scale", "feature")
    assert code == 0, err
    assert "(scale: feature)" in out
    pf = np.load(tmp_path / "pf.npz")
    tops = np.clip(np.percentile(raw, 99.9, axis=0), lo + 0.05 * (hi - lo), hi)  # each its own top, within [5%, 100%] of the run's
    assert np.allclose(pf["feature_hi"], tops) and np.allclose(pf["scale_range"], [lo, hi])
    assert np.allclose(pf["x"], np.clip((raw - lo) / (tops - lo), 0, 1), atol=1e-6)
    assert np.allclose(pf["x_test"], np.clip((Pretrainer.load(run).transform(src["x_test"][:, None]) - lo) / (tops - lo), 0, 1), atol=1e-6)
    assert (pf["x"].max(axis=0)[raw.std(axis=0) > 0] > 0.99).mean() > 0.9  # live features reach the top of [0, 1]
    code, _, err = run_cli(capsys, "features", run, "--data", npz_spec, "--out", tmp_path / "raw.npz", "--scale", "none")
    assert code == 0, err
    assert np.allclose(np.load(tmp_path / "raw.npz")["x"], raw, atol=1e-6)
    code, out, err = run_cli(capsys, "semisup", "ssgan", "--data", f"npz:{tmp_path / 'f.npz'}", "--labels-per-class", "2",
                             "--out", tmp_path / "ss", "--epochs", "1", "--batch-size", "16", "--hidden", "16,8",
                             "--g-hidden", "8", "--no-progress")
    assert code == 0, err
    assert "test accuracy" in out
    assert Pretrainer.load(tmp_path / "ss").model.architecture == "mlp"


def test_semisup_ensemble_of_members_trained_side_by_side(capsys, tmp_path, npz_spec):
    """--members 2 --jobs 2: two runs on the same labels with seeds 3 and 4, each in its own
    process; the ensemble's probabilities are the mean of theirs, and member-0 is the run
    that `--seed 3` alone gives."""
    from tenshot.api import SemiSupervisedClassifier, SemiSupervisedEnsemble

    argv = ["semisup", "ssgan", "--data", npz_spec, "--labels-per-class", "2", "--epochs", "2", "--batch-size", "16",
            "--hidden", "16,8", "--g-hidden", "8", "--seed", "3", "--threads", "1", "--no-progress"]
    code, out, err = run_cli(capsys, *argv, "--out", tmp_path / "ens", "--members", "2", "--jobs", "2")
    assert code == 0, err
    assert "members' test accuracies" in out and "config.json, member-0/, member-1/, metrics.json" in out
    config = json.loads((tmp_path / "ens" / "config.json").read_text())
    assert config["kind"] == "semisup-ensemble" and config["seeds"] == [3, 4] and config["status"] == "done"
    metrics = json.loads((tmp_path / "ens" / "metrics.json").read_text())
    members = [SemiSupervisedClassifier.load(tmp_path / "ens" / f"member-{k}") for k in range(2)]
    assert [m.seed for m in members] == [3, 4] and all(m.threads == 1 for m in members)
    assert metrics["member_test_accuracies"] == [m.history_["test_accuracy"] for m in members]
    src = np.load(npz_spec[4:])
    xt, yt = src["x_test"][:, None], src["y_test"]
    ens = SemiSupervisedEnsemble.load(tmp_path / "ens")
    probas = [m.predict_proba(xt) for m in members]
    w0, w1 = (next(iter(m.model_.state_dict().values())) for m in members)
    assert not torch.allclose(w0, w1)  # two seeds, two classifiers
    assert np.allclose(ens.predict_proba(xt), np.mean(probas, axis=0))
    assert metrics["test_accuracy"] == pytest.approx(np.mean(ens.predict(xt) == yt))
    code, _, err = run_cli(capsys, *argv, "--out", tmp_path / "one")
    assert code == 0, err
    assert np.allclose(SemiSupervisedClassifier.load(tmp_path / "one").predict_proba(xt), probas[0], atol=1e-5)
    code, _, err = run_cli(capsys, "probe", tmp_path / "ens", "--data", npz_spec, "--labels-per-class", "2")
    assert code == 2 and "is a 'semisup-ensemble' run; load it with SemiSupervisedEnsemble.load, or use one of its member folders" in err


def test_features_with_the_mirror_view_then_semisup_with_views(capsys, tmp_path, run, npz_spec):
    """--views flip: each row also holds the mirror image's features, scaled with the plain
    images' ranges; `semisup ssgan --views` trains on them and scores a view-averaged D."""
    from tenshot.api import Pretrainer, SemiSupervisedClassifier

    src = np.load(npz_spec[4:])
    rep = Pretrainer.load(run)
    raw = rep.transform(src["x"][:, None])
    mirror = rep.transform(src["x"][:, None, :, ::-1].copy())
    code, out, err = run_cli(capsys, "features", run, "--data", npz_spec, "--out", tmp_path / "v.npz", "--scale",
                             "feature", "--views", "flip")
    assert code == 0, err
    assert f"60 train and 24 test rows of {raw.shape[1]} features, 2 views each (scale: feature)" in out
    v = np.load(tmp_path / "v.npz")
    lo, hi = v["scale_range"][0]
    assert np.allclose([lo, hi], np.percentile(raw, [0.1, 99.9]))  # the ranges of the plain images alone
    tops = v["feature_hi"]
    assert v["x"].shape == (60, 2, 1, raw.shape[1]) and v["x_test"].shape == (24, 2, 1, raw.shape[1])
    assert np.allclose(v["x"][:, 0, 0], np.clip((raw - lo) / (tops - lo), 0, 1), atol=1e-6)
    assert np.allclose(v["x"][:, 1, 0], np.clip((mirror - lo) / (tops - lo), 0, 1), atol=1e-6)
    assert not np.allclose(v["x"][:, 0], v["x"][:, 1])
    argv = ["semisup", "ssgan", "--data", f"npz:{tmp_path / 'v.npz'}", "--labels-per-class", "2", "--epochs", "1",
            "--batch-size", "16", "--hidden", "16,8", "--g-hidden", "8", "--no-progress"]
    code, out, err = run_cli(capsys, *argv, "--out", tmp_path / "ss", "--views")
    assert code == 0, err
    clf = SemiSupervisedClassifier.load(tmp_path / "ss")
    assert clf.model_.n_views == 2 and clf.model_.net_shape == (1, 1, raw.shape[1])
    assert clf.model_.sample(3).shape == (3, 1, 1, raw.shape[1])  # G makes one view
    metrics = json.loads((tmp_path / "ss" / "metrics.json").read_text())
    assert metrics["test_accuracy"] == pytest.approx(np.mean(clf.predict(v["x_test"]) == v["y_test"]))
    code, _, err = run_cli(capsys, *argv, "--out", tmp_path / "bad", "--data", npz_spec, "--views")
    assert code == 2 and "views needs feature rows with several views" in err and "--views flip" in err
    assert not (tmp_path / "bad").exists()


def test_features_of_two_runs_side_by_side(capsys, tmp_path, run, npz_spec):
    """Several runs: their features concatenated in the order given, each scaled by its
    own range, so a run with large features does not squash the other's."""
    from tenshot.api import Pretrainer

    other = tmp_path / "wide"
    assert run_cli(capsys, "pretrain", "denoising-ae", "--data", npz_spec, "--out", other, *TINY[:-3],
                   "--latent-dim", "5", "--no-progress")[0] == 0
    src = np.load(npz_spec[4:])
    raws = [Pretrainer.load(r).transform(src["x"][:, None]) for r in (run, other)]
    code, out, err = run_cli(capsys, "features", run, other, "--data", npz_spec, "--out", tmp_path / "f.npz")
    assert code == 0, err
    dims = [r.shape[1] for r in raws]
    assert f"60 train and 24 test rows of {sum(dims)} features ({dims[0]} + {dims[1]}) (scale: unit)" in out
    f = np.load(tmp_path / "f.npz")
    assert f["feature_dims"].tolist() == dims and f["scale_range"].shape == (2, 2)
    for raw, (lo, hi), part in zip(raws, f["scale_range"], np.split(f["x"], [dims[0]], axis=1)):
        assert np.allclose([lo, hi], np.percentile(raw, [0.1, 99.9]))
        assert np.allclose(part, np.clip((raw - lo) / (hi - lo), 0, 1), atol=1e-6)
    code, _, err = run_cli(capsys, "features", other, run, "--data", npz_spec, "--out", tmp_path / "g.npz")
    assert code == 0, err
    assert np.load(tmp_path / "g.npz")["feature_dims"].tolist() == dims[::-1]


def test_demo_quick(capsys, tmp_path):
    code, out, err = run_cli(capsys, "demo", "--quick", "--data", "digits", "--out", tmp_path / "demo")
    assert code == 0, err
    results = json.loads((tmp_path / "demo" / "label_efficiency.json").read_text())["results"]
    assert {r["source"] for r in results} == {"denoising-ae", "pixels", "pca", "supervised"}
    assert (tmp_path / "demo" / "label_efficiency.png").exists() and "| pixels | linear |" in out


def test_demo_falls_back_to_digits_saying_why(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr("tenshot.data.idx.search_path", lambda name, d: [tmp_path / "nowhere"])
    from tenshot import workflows

    seen = []
    monkeypatch.setattr(workflows, "pretrain", lambda *a, **k: (_ for _ in ()).throw(SystemExit(seen.append(a[1]))))
    with pytest.raises(SystemExit):
        workflows.demo(tmp_path / "d", quick=True, log=seen.append)
    assert "Fashion-MNIST is not installed" in seen[0] and seen[-1].name == "digits"


def test_entry_point_runs():
    proc = subprocess.run([sys.executable, "-m", "tenshot.cli", "probe", "nope", "--data", "digits"], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.startswith("error: no such run folder")


def corrupt_idx(tmp: Path) -> str:
    folder = tmp / "idx"
    folder.mkdir()
    for stem, shape in [("train-images-idx3-ubyte", (4, 3, 3)), ("train-labels-idx1-ubyte", (4,)),
                        ("t10k-images-idx3-ubyte", (2, 3, 3)), ("t10k-labels-idx1-ubyte", (2,))]:
        payload = bytes([0, 0, 8, len(shape)]) + b"".join(d.to_bytes(4, "big") for d in shape) + bytes(int(np.prod(shape)))
        (folder / (stem + ".gz")).write_bytes(gzip.compress(payload[:-3] if stem.startswith("train-images") else payload))
    return f"idx:{folder}"


def bad_folder(tmp: Path) -> str:
    (tmp / "imgs" / "a").mkdir(parents=True)
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp / "imgs" / "a" / "ok.png")
    (tmp / "imgs" / "a" / "bad.png").write_bytes(b"not a png")
    return f"folder:{tmp / 'imgs'}"


def nan_npz(tmp: Path) -> str:
    x = np.zeros((6, 8, 8), np.float32)
    x[2, 1, 1] = np.nan
    np.savez(tmp / "nan.npz", x=x)
    return f"npz:{tmp / 'nan.npz'}"


def wide_npz(tmp: Path) -> str:
    np.savez(tmp / "wide.npz", x=np.zeros((6, 8, 12), np.float32))
    return f"npz:{tmp / 'wide.npz'}"


BAD = {
    "unknown method": (lambda t, r, d: ["pretrain", "vae9", "--data", d, "--out", r], "unknown method 'vae9'"),
    "unknown data": (lambda t, r, d: ["pretrain", "autoencoder", "--data", "cifar", "--out", t / "n"], "unknown data 'cifar'"),
    "missing data folder": (lambda t, r, d: ["pretrain", "autoencoder", "--data", f"folder:{t}/nope", "--out", t / "n"], "does not exist"),
    "corrupt idx": (lambda t, r, d: ["pretrain", "autoencoder", "--data", corrupt_idx(t), "--out", t / "n"], "truncated or corrupt"),
    "unreadable image": (lambda t, r, d: ["pretrain", "autoencoder", "--data", bad_folder(t), "--out", t / "n"], "bad.png: cannot read"),
    "nan in npz": (lambda t, r, d: ["pretrain", "autoencoder", "--data", nan_npz(t), "--out", t / "n"], "NaN or Inf"),
    "too many labels": (lambda t, r, d: ["probe", r, "--data", d, "--labels-per-class", "21"], "use --labels-per-class 20 or fewer"),
    "existing out": (lambda t, r, d: ["pretrain", "autoencoder", "--data", d, "--out", r, *TINY], "--resume"),
    "probe non-run": (lambda t, r, d: ["probe", t, "--data", d], "not a tenshot run"),
    "changed option on resume": (lambda t, r, d: ["pretrain", "autoencoder", "--data", d, "--out", r, "--resume", "--latent-dim", "9"],
                                 "latent_dim cannot change when resuming (the run has latent_dim=8)"),
    "wrong method": (lambda t, r, d: ["pretrain", "sparse-ae", "--data", d, "--out", r, "--resume"], "saved by method 'autoencoder'"),
    "epochs 0": (lambda t, r, d: ["pretrain", "autoencoder", "--data", d, "--out", r, "--epochs", "0"], "epochs"),
    "negative batch": (lambda t, r, d: ["pretrain", "autoencoder", "--data", d, "--out", r, "--batch-size", "-4"], "batch_size"),
    "unknown probe": (lambda t, r, d: ["probe", "pixels", "--data", d, "--probe", "forest"], "unknown probe"),
    "sample non-generative": (lambda t, r, d: ["sample", r, "--out", t / "s.png"], "not a generative model"),
    "score non-run": (lambda t, r, d: ["score", t, "--data", d], "not a tenshot run"),
    "features non-run": (lambda t, r, d: ["features", t, "--data", d, "--out", t / "f.npz"], "not a tenshot run"),
    "features to a non-npz": (lambda t, r, d: ["features", r, "--data", d, "--out", t / "f.csv"], "must name an .npz file"),
    "features, one of two a non-run": (lambda t, r, d: ["features", r, t, "--data", d, "--out", t / "f.npz"], "not a tenshot run"),
    "rotation loss on non-square images": (lambda t, r, d: ["pretrain", "dcgan", "--data", wide_npz(t), "--out", t / "n",
                                                            "--rotation-loss", "1"], "rotation_loss needs square images"),
    "ensemble of 0 members": (lambda t, r, d: ["semisup", "ssgan", "--data", d, "--labels-per-class", "2", "--out", t / "n",
                                                "--members", "0"], "--members and --jobs must be at least 1"),
    "bad option value": (lambda t, r, d: ["pretrain", "autoencoder", "--data", d, "--out", r, "--encoder", "rnn"], "invalid choice"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_one_error_line_exit_2_run_intact(capsys, tmp_path, run, npz_spec, case):
    argv, message = BAD[case]
    before = snapshot(run)
    code, out, err = run_cli(capsys, *argv(tmp_path, run, npz_spec))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], err
    assert "Traceback" not in err + out
    assert snapshot(run) == before
