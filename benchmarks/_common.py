"""Shared by the benchmark scripts: data loading, the machine description, JSON output."""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path
from typing import Any

import torch

from tenshot.data import Dataset, load_dataset
from tenshot.io import write_json
from tenshot.training.engine import cpu_bf16_native


def fashion_or_digits(data: str | None) -> Dataset:
    """The requested data; by default Fashion-MNIST, else digits (with a note)."""
    if data:
        return load_dataset(data)
    try:
        return load_dataset("fashion-mnist", download=False)
    except Exception as exc:  # noqa: BLE001 - any reason: say it and fall back
        print(f"note: Fashion-MNIST unavailable ({exc}); using digits")
        return load_dataset("digits")


def add_output_options(ap: argparse.ArgumentParser, name: str) -> None:
    """``--out`` (default ``benchmarks/NAME.json``) and ``--dev N``, a run for choosing
    recipes without the test split (see ``dev_split`` and ``out_path``)."""
    ap.add_argument("--out", default=None, help=f"JSON to write (default: benchmarks/{name}.json)")
    ap.add_argument("--dev", type=int, default=None, metavar="N",
                    help="a dev run for choosing recipes: score the last N train images instead of the test "
                         "split, with labels drawn from the others (the test split is not read; the JSON "
                         f"goes to benchmarks/{name}_dev.json unless --out says otherwise), e.g. --dev 10000")


def dev_split(ds: Dataset, n: int | None) -> Dataset:
    """``ds`` with its last ``n`` train images as the scored split and the rest as train;
    ``ds`` itself when ``n`` is None. Everything that a benchmark trains or draws labels
    from then comes from the first images only, so a recipe chosen on this split has not
    seen the test labels."""
    if n is None:
        return ds
    if ds.y_train is None:
        raise SystemExit(f"error: --dev needs labeled train images; {ds.name} has none")
    if not 0 < n < len(ds.x_train):
        raise SystemExit(f"error: --dev N must be between 1 and {len(ds.x_train) - 1} "
                         f"({ds.name} has {len(ds.x_train)} train images); got --dev {n}")
    x, y = ds.x_train, ds.y_train
    return Dataset(f"{ds.name} (dev: last {n} train images)", x[:-n], y[:-n], x[-n:], y[-n:], list(ds.classes))


def out_path(out: str | None, name: str, dev: int | None) -> str:
    """``--out`` when given, else ``benchmarks/NAME.json`` (``NAME_dev.json`` for a dev run,
    so that it never replaces the test-split figures)."""
    return out or beside(f"{name}_dev.json" if dev is not None else f"{name}.json")


def add_set_option(ap: argparse.ArgumentParser) -> None:
    """``--set KEY=VALUE`` (repeatable): any Pretrainer parameter, for every recipe of the run."""
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                    help="override a Pretrainer parameter in every recipe, e.g. --set width=64 --set depth=2 "
                    "(repeatable; a method that lacks the parameter says so)")


def parse_sets(items: list[str]) -> dict[str, Any]:
    """``["width=64", "crop-scale=[0.2, 1]", "encoder=conv"]`` -> ``{"width": 64, "crop_scale": [0.2, 1],
    "encoder": "conv"}``: values are read as JSON when they parse (numbers, true/false, lists),
    else kept as strings; dashes in keys become underscores, as on the CLI."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise SystemExit(f"error: --set takes KEY=VALUE, e.g. --set width=64; got {item!r}")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        out[key.strip().replace("-", "_")] = value
    return out


def beside(name: str) -> str:
    """``benchmarks/NAME``, wherever the script is run from: the default ``--out`` (the
    JSON goes beside its script; a relative ``--out`` given by the user is from the cwd)."""
    return str(Path(__file__).resolve().parent / name)


def cpu_model() -> str:
    """The CPU's model name (Linux's /proc/cpuinfo; ``platform.processor()`` elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def machine() -> dict[str, Any]:
    # Timings differ by CPU far more than by run (bf16 is 1.7x faster than float32 on an
    # AVX512-BF16 host and 9x slower on an AVX2 one), so each JSON names its CPU.
    return {
        "cpu": cpu_model(),
        "cpu_bf16_native": cpu_bf16_native(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "python": platform.python_version(),
    }


def save(path: str | Path, payload: dict[str, Any]) -> None:
    write_json(Path(path), {"machine": machine(), **payload})
    print(f"wrote {path}")


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2)
