"""IDX files (the MNIST family's format): reading, finding and downloading them.

An IDX file is a 4-byte magic (two zero bytes, a type code, the number of dimensions),
one big-endian uint32 per dimension, then the values. tenshot reads the uint8 kind
(type 0x08), plain or gzipped, and checks the byte count against the header, so a
truncated download is caught here and not as a reshape error three layers up.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import numpy as np

from tenshot.data.dataset import Dataset
from tenshot.data.validate import as_images, as_labels, encode_labels
from tenshot.errors import DataError

SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
FILES = [f for pair in SPLITS.values() for f in pair]

# Official mirrors and the SHA-256 of their gzipped files. Debian's dataset packages
# recompress the same IDX payload, so local files are checked structurally instead.
MIRRORS: dict[str, tuple[list[str], dict[str, str]]] = {
    "fashion-mnist": (
        ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
        {
            "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        },
    ),
    "mnist": (
        ["https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/"],
        {
            "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        },
    ),
}

CLASS_NAMES = {
    "fashion-mnist": [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ],
    "mnist": [str(i) for i in range(10)],
}


def read_idx(path: Path) -> np.ndarray:
    """Read one uint8 IDX file (``.gz`` or raw) into an array of the header's shape."""
    try:
        raw = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError
        raise DataError(f"{path}: cannot read it ({e}); the file is corrupt or truncated -- fetch it again") from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataError(f"{path}: not an IDX file (bad magic number); expected MNIST-style IDX data")
    if raw[2] != 0x08:
        raise DataError(f"{path}: IDX type 0x{raw[2]:02x} is not supported; tenshot reads uint8 IDX (0x08)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DataError(f"{path}: truncated IDX header; fetch the file again")
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    expected = int(np.prod(dims))
    if len(raw) - header != expected:
        raise DataError(
            f"{path}: header says shape {tuple(dims)} ({expected} bytes) but the file holds "
            f"{len(raw) - header}; it is truncated or corrupt -- fetch it again"
        )
    return np.frombuffer(raw, np.uint8, offset=header).reshape(dims)


def _find(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def has_idx_files(folder: Path) -> bool:
    return all(_find(folder, f) is not None for f in FILES)


def load_idx_folder(folder: Path, name: str, classes: list[str] | None = None) -> Dataset:
    """The four MNIST-style files of ``folder`` as a Dataset (train 60k / test 10k for MNIST)."""
    if not folder.is_dir():
        raise DataError(f"data folder {folder} does not exist; check the path")
    missing = [f for f in FILES if _find(folder, f) is None]
    if missing:
        raise DataError(f"{folder}: missing {', '.join(m + '[.gz]' for m in missing)}; an idx: folder needs all four files")
    arrays = {}
    for split, (images, labels) in SPLITS.items():
        img_path, lab_path = _find(folder, images), _find(folder, labels)
        x = as_images(read_idx(img_path), str(img_path))  # type: ignore[arg-type]
        arrays[split] = (x, as_labels(read_idx(lab_path), len(x), str(lab_path)))  # type: ignore[arg-type]
    (y_train, y_test), found = encode_labels(arrays["train"][1], arrays["test"][1])
    if classes is None or len(classes) != len(found):
        classes = found
    return Dataset(name, arrays["train"][0], y_train, arrays["test"][0], y_test, classes)


def search_path(name: str, data_dir: str | os.PathLike | None) -> list[Path]:
    """Where ``name``'s IDX files are looked for, in order."""
    places: list[Path] = []
    if data_dir is not None:
        places += [Path(data_dir), Path(data_dir) / name]
    if os.environ.get("TENSHOT_DATA"):
        places.append(Path(os.environ["TENSHOT_DATA"]) / name)
    places += [Path.home() / ".cache" / "tenshot" / name, Path("/usr/share/datasets") / name]
    return places


def _download(name: str, dest: Path) -> None:
    """Fetch the four files from the official mirror, each checked against its SHA-256."""
    urls, sums = MIRRORS[name]
    dest.mkdir(parents=True, exist_ok=True)
    for fname, digest in sums.items():
        if (dest / fname).is_file():
            continue
        last: Exception | None = None
        for base in urls:
            tmp = dest / (fname + ".part")
            try:
                with urllib.request.urlopen(base + fname, timeout=60) as r:
                    data = r.read()
            except (urllib.error.URLError, OSError) as e:
                last = e
                continue
            got = hashlib.sha256(data).hexdigest()
            if got != digest:
                last = DataError(f"{base + fname}: SHA-256 {got} != expected {digest}")
                continue
            tmp.write_bytes(data)
            os.replace(tmp, dest / fname)  # atomic: a half-written file never has the real name
            last = None
            break
        if last is not None:
            raise DataError(f"could not download {fname} for {name} ({last})") from last


def load_named(name: str, data_dir: str | os.PathLike | None = None, download: bool = True) -> Dataset:
    """``fashion-mnist`` / ``mnist``: the first folder of ``search_path`` holding the files,
    else a download into ``$TENSHOT_DATA/<name>`` or ``~/.cache/tenshot/<name>``."""
    places = search_path(name, data_dir)
    for folder in places:
        if has_idx_files(folder):
            return load_idx_folder(folder, name, CLASS_NAMES[name])
    where = ", ".join(str(p) for p in places)
    hint = "apt-get install dataset-fashion-mnist, " if name == "fashion-mnist" else ""
    if not download:
        raise DataError(f"{name} not found (looked in {where}); {hint}or put the four IDX .gz files in one of them")
    target = Path(os.environ["TENSHOT_DATA"]) / name if os.environ.get("TENSHOT_DATA") else places[-2]
    try:
        _download(name, target)
    except DataError as e:
        raise DataError(
            f"{name} not found locally (looked in {where}) and the download failed: {e}. "
            f"Offline? {hint}or copy the four IDX .gz files into {target}"
        ) from e
    return load_idx_folder(target, name, CLASS_NAMES[name])
