"""Run folders: config.json + model.safetensors + metrics.json, written atomically.

Weights are safetensors, metadata JSON: loading a run never unpickles anything.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from tenshot.errors import CheckpointError, RunExistsError

CONFIG = "config.json"
WEIGHTS = "model.safetensors"
METRICS = "metrics.json"


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temp path in ``path``'s folder; on success it is renamed over ``path``, so
    readers see the old file or the new one, never half of one. On error it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def read_json(path: Path) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{path} does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path} is not valid JSON ({exc}); the run folder is damaged") from None


def save_weights(path: Path, state: dict[str, torch.Tensor]) -> None:
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in state.items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp))


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(path))
    except FileNotFoundError:
        raise CheckpointError(f"{path} does not exist; the run did not finish (resume it with --resume)") from None
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path} is not a readable safetensors file ({exc})") from None


def is_run(path: Path) -> bool:
    return (Path(path) / CONFIG).is_file()


def read_run_config(path: Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_dir():
        raise CheckpointError(f"no such run folder: {path}")
    if not is_run(path):
        raise CheckpointError(f"{path} is not a tenshot run (no {CONFIG}); pass a folder written by `tenshot pretrain`")
    config = read_json(path / CONFIG)
    if not isinstance(config, dict) or "method" not in config:
        raise CheckpointError(f"{path / CONFIG} is not a tenshot run config (no 'method')")
    return config


def update_metrics(run: Path, new: dict[str, Any]) -> dict[str, Any]:
    """Merge ``new`` into run/metrics.json (other verbs add their figures to it)."""
    path = Path(run) / METRICS
    metrics = read_json(path) if path.exists() else {}
    metrics.update(new)
    write_json(path, metrics)
    return metrics


@contextmanager
def output_run(out: Path, resume: bool = False, force: bool = False) -> Iterator[Path]:
    """Yield the folder to train in, guarding existing runs.

    - new folder: train in place (an interrupted run can be resumed);
    - existing run, ``resume``: train in place from its last checkpoint;
    - existing run, ``force``: train in a sibling temp folder and swap it in only on
      success, so a failed re-run loses nothing;
    - existing run otherwise: RunExistsError.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise RunExistsError(f"--out {out} is a file; choose a folder path")
    occupied = out.is_dir() and any(out.iterdir())
    if resume:
        if not is_run(out):
            raise CheckpointError(f"cannot resume: {out} is not a tenshot run; drop --resume to start a new one")
        yield out
        return
    if occupied and not force:
        what = "a run" if is_run(out) else "files"
        raise RunExistsError(f"--out {out} already holds {what}; pass --resume to continue it, --force to replace it, or choose another folder")
    if not occupied:
        out.mkdir(parents=True, exist_ok=True)
        yield out
        return
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.new-"))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    os.replace(out, old)
    os.replace(tmp, out)
    shutil.rmtree(old, ignore_errors=True)
