"""Datasets: every ``--data`` spec of the contract, as a validated ``Dataset``.

``load_dataset("fashion-mnist")``, ``"mnist"``, ``"digits"``, ``"idx:DIR"``,
``"folder:DIR"``, ``"npz:FILE"``. Images are float32 (N, C, H, W) in [0, 1].
"""

from __future__ import annotations

import os
from pathlib import Path

from tenshot.data.dataset import Dataset
from tenshot.data.digits import load_digits
from tenshot.data.folder import load_folder
from tenshot.data.idx import CLASS_NAMES, load_idx_folder, load_named
from tenshot.data.npz import load_npz
from tenshot.data.splits import few_label_indices, parse_labels_per_class
from tenshot.errors import ConfigError

NAMED = ("fashion-mnist", "mnist", "digits")
PREFIXED = {
    "idx": lambda p: load_idx_folder(p, p.name),
    "folder": load_folder,
    "npz": load_npz,
}
DATA_FORMS = "fashion-mnist, mnist, digits, idx:DIR, folder:DIR, npz:FILE"


def load_dataset(spec: str, data_dir: str | os.PathLike | None = None, download: bool = True) -> Dataset:
    """Load a dataset by name or ``kind:path``.

    Args:
        spec: one of ``DATA_FORMS``.
        data_dir: where to look first for fashion-mnist / mnist files.
        download: fetch fashion-mnist / mnist from the official mirror when absent.

    Raises:
        ConfigError: unknown spec. DataError: missing/corrupt files, invalid values.
    """
    if spec in CLASS_NAMES:
        return load_named(spec, data_dir, download)
    if spec == "digits":
        return load_digits()
    kind, sep, path = spec.partition(":")
    if sep and kind in PREFIXED and path:
        return PREFIXED[kind](Path(path).expanduser())
    raise ConfigError(f"unknown data {spec!r}: use one of {DATA_FORMS}")


__all__ = ["DATA_FORMS", "Dataset", "few_label_indices", "load_dataset", "parse_labels_per_class"]
