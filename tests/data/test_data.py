"""Every --data source loads to (N, C, H, W) float32 in [0, 1], or fails with a DataError
that names the file and the problem."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tenshot.data import load_dataset
from tenshot.data.idx import read_idx, search_path
from tenshot.errors import ConfigError, DataError


def write_idx(path: Path, arr: np.ndarray, gz: bool = True) -> None:
    arr = np.asarray(arr, np.uint8)
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    payload = header + arr.tobytes()
    if gz:
        with gzip.open(str(path) + ".gz", "wb") as f:
            f.write(payload)
    else:
        path.write_bytes(payload)


def make_idx_folder(folder: Path, n_train=40, n_test=20, gz=True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 6, 5)), gz)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 4, gz)
    return folder


@pytest.mark.parametrize("gz", [True, False])
def test_idx_folder_loads(tmp_path, gz):
    ds = load_dataset(f"idx:{make_idx_folder(tmp_path / 'd', gz=gz)}")
    assert ds.x_train.shape == (40, 1, 6, 5) and ds.x_test.shape == (20, 1, 6, 5)
    assert ds.x_train.dtype == torch.float32 and 0 <= ds.x_train.min() and ds.x_train.max() <= 1
    assert ds.y_train.tolist()[:5] == [0, 1, 2, 3, 0] and ds.classes == ["0", "1", "2", "3"]


def test_truncated_idx_names_file(tmp_path):
    folder = make_idx_folder(tmp_path / "d", gz=False)
    f = folder / "train-images-idx3-ubyte"
    f.write_bytes(f.read_bytes()[:-7])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.*truncated"):
        load_dataset(f"idx:{folder}")


def test_corrupt_gzip_and_bad_magic(tmp_path):
    folder = make_idx_folder(tmp_path / "d")
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz.*corrupt"):
        load_dataset(f"idx:{folder}")
    bad = tmp_path / "x"
    bad.write_bytes(b"PK\x03\x04" + bytes(20))
    with pytest.raises(DataError, match="bad magic"):
        read_idx(bad)


def test_idx_label_count_mismatch(tmp_path):
    folder = make_idx_folder(tmp_path / "d")
    write_idx(folder / "train-labels-idx1-ubyte", np.zeros(39))
    with pytest.raises(DataError, match="39 labels for 40 images"):
        load_dataset(f"idx:{folder}")


def test_missing_folder_and_files(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_dataset(f"idx:{tmp_path / 'nope'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="missing train-images"):
        load_dataset(f"idx:{tmp_path / 'empty'}")


def test_named_dataset_search_path_and_offline_error(tmp_path, monkeypatch):
    monkeypatch.setattr("tenshot.data.idx.search_path", lambda name, d: [tmp_path / "a", tmp_path / "b" / name])
    with pytest.raises(DataError, match=r"mnist not found .*put the four IDX"):
        load_dataset("mnist", download=False)
    make_idx_folder(tmp_path / "b" / "mnist")
    ds = load_dataset("mnist", download=False)
    assert ds.name == "mnist" and len(ds.x_train) == 40


def test_search_order(tmp_path, monkeypatch):
    monkeypatch.setenv("TENSHOT_DATA", str(tmp_path / "env"))
    places = search_path("fashion-mnist", tmp_path / "dd")
    assert places[:3] == [tmp_path / "dd", tmp_path / "dd" / "fashion-mnist", tmp_path / "env" / "fashion-mnist"]
    assert places[-1] == Path("/usr/share/datasets/fashion-mnist")


def test_digits():
    ds = load_dataset("digits")
    assert ds.x_train.shape[1:] == (1, 8, 8) and len(ds.x_train) + len(ds.x_test) == 1797
    assert ds.x_train.max() == 1.0 and ds.num_classes == 10
    assert torch.equal(ds.y_test, load_dataset("digits").y_test)  # fixed split


def test_unknown_spec_lists_forms():
    with pytest.raises(ConfigError, match=r"unknown data 'cifar'.*folder:DIR"):
        load_dataset("cifar")


def save_png(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr.astype(np.uint8)).save(path)


def test_folder_layouts(tmp_path):
    rng = np.random.default_rng(0)
    for split, n in (("train", 3), ("test", 2)):
        for cls in ("cat", "dog"):
            for i in range(n):
                save_png(tmp_path / "tt" / split / cls / f"{i}.png", rng.integers(0, 256, (5, 7)))
    ds = load_dataset(f"folder:{tmp_path / 'tt'}")
    assert ds.x_train.shape == (6, 1, 5, 7) and ds.x_test.shape == (4, 1, 5, 7)
    assert ds.classes == ["cat", "dog"] and ds.y_train.tolist() == [0, 0, 0, 1, 1, 1]

    save_png(tmp_path / "flat" / "a.png", rng.integers(0, 256, (4, 4)))
    save_png(tmp_path / "flat" / "b.png", rng.integers(0, 256, (4, 4, 3)))  # RGB beside gray: all become RGB
    flat = load_dataset(f"folder:{tmp_path / 'flat'}")
    assert flat.x_train.shape == (2, 3, 4, 4) and flat.y_train is None and flat.x_test is None


def test_folder_bad_images(tmp_path):
    save_png(tmp_path / "f" / "c0" / "a.png", np.zeros((4, 4)))
    (tmp_path / "f" / "c0" / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DataError, match=r"broken.png: cannot read this image"):
        load_dataset(f"folder:{tmp_path / 'f'}")
    (tmp_path / "f" / "c0" / "broken.png").unlink()
    save_png(tmp_path / "f" / "c1" / "big.png", np.zeros((6, 6)))
    with pytest.raises(DataError, match=r"big.png: image size 6x6 differs"):
        load_dataset(f"folder:{tmp_path / 'f'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no images"):
        load_dataset(f"folder:{tmp_path / 'empty'}")


def test_npz_layouts(tmp_path):
    p = tmp_path / "a.npz"
    np.savez(p, x=np.random.default_rng(0).integers(0, 256, (10, 5, 5, 3), dtype=np.uint8), y=np.array(list("ab") * 5))
    ds = load_dataset(f"npz:{p}")
    assert ds.x_train.shape == (10, 3, 5, 5) and ds.classes == ["a", "b"] and ds.x_test is None
    np.savez(p, x=np.random.default_rng(0).random((10, 12)), x_test=np.zeros((3, 12)))
    ds = load_dataset(f"npz:{p}")
    assert ds.x_train.shape == (10, 1, 1, 12) and ds.y_train is None and ds.x_test.shape == (3, 1, 1, 12)


@pytest.mark.parametrize(
    "arrays, message",
    [
        (dict(x=np.full((4, 3, 3), np.nan)), r"4 image\(s\) contain NaN or Inf"),
        (dict(x=np.full((4, 3, 3), -2.0)), "rescale them to"),
        (dict(x=np.zeros((4, 3, 3)), y=np.zeros(3)), "3 labels for 4 images"),
        (dict(x=np.zeros((0, 3, 3))), "the dataset is empty"),
        (dict(x=np.zeros((4, 3, 3)), x_test=np.zeros((2, 4, 4))), "share one image size"),
        (dict(images=np.zeros((4, 3, 3))), "no array named 'x'"),
        (dict(x=np.array([None] * 4, dtype=object)), "Python objects"),
    ],
)
def test_npz_errors_name_the_file(tmp_path, arrays, message):
    p = tmp_path / "bad.npz"
    np.savez(p, **arrays)
    with pytest.raises(DataError, match=message) as e:
        load_dataset(f"npz:{p}")
    assert "bad.npz" in str(e.value)


def test_npz_missing_and_not_npz(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_dataset(f"npz:{tmp_path / 'x.npz'}")
    (tmp_path / "x.npz").write_text("hello")
    with pytest.raises(DataError, match="not a readable .npz"):
        load_dataset(f"npz:{tmp_path / 'x.npz'}")
