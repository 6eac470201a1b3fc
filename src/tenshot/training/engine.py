"""The training engine: a thin layer over Lightning's Trainer.

It turns a TrainConfig into Trainer flags (devices, strategy, precision), adds the
NaN guard, per-epoch history, checkpoints and a CSV log for run folders, and checks one
batch before training so a wrong configuration fails in a second, not after an epoch.
"""

from __future__ import annotations

import logging
import time
import warnings
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from torch.utils.data import DataLoader, Dataset, TensorDataset, default_collate

from tenshot.config import TrainConfig
from tenshot.errors import CheckpointError, ConfigError, TrainingError
from tenshot.methods.base import Method
from tenshot.training.callbacks import History, NaNGuard
from tenshot.training.heap import keep_freed_memory

CHECKPOINTS = "checkpoints"
LAST = "last.ckpt"


def parse_devices(devices: str) -> Any:
    """'auto' -> 'auto'; '2' -> 2; '0,1' -> [0, 1] (Lightning's forms)."""
    text = str(devices).strip()
    if text == "auto":
        return text
    try:
        if "," in text:
            return [int(d) for d in text.split(",") if d]
        return int(text)
    except ValueError:
        raise ConfigError(f"--devices {devices!r} is not valid; use auto, a count such as 2, or a list such as 0,1") from None


def seeded_subset(x: torch.Tensor, n: int | None, seed: int) -> torch.Tensor:
    """At most ``n`` rows of x, chosen with ``seed`` (the same subset for the same seed)."""
    if n is None or n >= len(x):
        return x
    idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:n]
    return x[idx.sort().values]


class WithLabeled(Dataset):
    """Unlabeled images paired with labeled ones, for semi-supervised methods.

    Item i is ``(x[i], x_labeled[i % n], y_labeled[i % n])``: with shuffling, every batch
    carries as many labeled examples as unlabeled ones, the few labels repeated to fill
    it (Salimans et al. 2016), and each labeled example is seen equally often per epoch.
    """

    def __init__(self, x: torch.Tensor, x_labeled: torch.Tensor, y_labeled: torch.Tensor) -> None:
        if len(x_labeled) == 0 or len(x_labeled) != len(y_labeled):
            raise ConfigError(f"{len(x_labeled)} labeled images and {len(y_labeled)} labels; give one label per image")
        self.x, self.x_labeled, self.y_labeled = x, x_labeled, y_labeled

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        j = i % len(self.x_labeled)
        return self.x[i], self.x_labeled[j], self.y_labeled[j]


def check_first_batch(method: Method, data: Dataset) -> None:
    """Run the loss on two examples before training (pythae's check): a shape or option
    mismatch then fails at once with a message that says what to check."""
    batch = default_collate([data[i] for i in range(min(len(data), 2))])
    method.train()
    try:
        with torch.no_grad():
            terms = method.losses(*batch)
    except TrainingError:
        raise
    except (RuntimeError, ValueError, IndexError) as exc:
        raise ConfigError(
            f"{type(method).__name__} fails on the first batch of shape {tuple(batch[0].shape[1:])}: {exc}. "
            "Check that the method options fit this data (image size, channels, encoder)"
        ) from exc
    if "loss" not in terms:
        raise TrainingError(f"{type(method).__name__}.losses() must return a 'loss' entry")


def cpu_bf16_native() -> bool:
    """Whether this CPU multiplies bfloat16 natively (AVX512-BF16 or AMX), as oneDNN sees it."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def warn_if_bf16_is_emulated(train: TrainConfig) -> None:
    """Warn when bf16 autocast would run on a CPU without bfloat16 matrix units.

    oneDNN then emulates the bfloat16 products: on an AVX2-only EPYC the ssgan ran an epoch
    about 9x slower under bf16-mixed than in float32, the opposite of what the flag is for.
    """
    on_cpu = train.accelerator == "cpu" or (train.accelerator == "auto" and not torch.cuda.is_available())
    if on_cpu and str(train.precision).startswith("bf16") and not cpu_bf16_native():
        warnings.warn(
            f"--precision {train.precision} on this CPU has no native bfloat16 (AVX512-BF16 or AMX): "
            "it is emulated and much slower than 32-true; use --precision 32-true here",
            stacklevel=2,
        )


def make_trainer(train: TrainConfig, max_epochs: int, run_dir: Path | None, callbacks: list[L.Callback]) -> L.Trainer:
    warn_if_bf16_is_emulated(train)
    if run_dir is not None:
        callbacks = callbacks + [
            ModelCheckpoint(
                dirpath=run_dir / CHECKPOINTS, filename="epoch{epoch:03d}", auto_insert_metric_name=False,
                save_top_k=-1, every_n_epochs=train.checkpoint_every, save_last=True,
                # Every file in the folder is this run's: a run copied or moved elsewhere and
                # resumed must overwrite last.ckpt, not write last-v1.ckpt beside a stale one.
                enable_version_counter=False,
            )
        ]
    # logs/version_N/metrics.csv: a resumed run gets a new version instead of overwriting.
    logger = CSVLogger(save_dir=str(run_dir), name="logs") if run_dir is not None else False
    return L.Trainer(
        max_epochs=max_epochs,
        accelerator=train.accelerator,
        devices=parse_devices(train.devices),
        strategy=train.strategy,
        precision=train.precision,  # type: ignore[arg-type]
        deterministic="warn",  # same seed on CPU -> same metrics
        callbacks=callbacks,
        logger=logger,
        enable_checkpointing=run_dir is not None,
        enable_progress_bar=train.progress,
        enable_model_summary=False,
        log_every_n_steps=50,
        default_root_dir=str(run_dir) if run_dir else None,
    )


def fit(
    method: Method,
    x: torch.Tensor,
    train: TrainConfig,
    run_dir: Path | None = None,
    resume: bool = False,
    labeled: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> dict[str, Any]:
    """Train ``method`` on images ``x`` (N, C, H, W); returns the training record
    (per-epoch curves, final losses, seconds, samples). With ``run_dir``: checkpoints
    every epoch in ``run_dir/checkpoints`` and a CSV log in ``run_dir/logs``. With
    ``labeled`` = (images, labels), batches are ``(x, x_labeled, y_labeled)`` (see
    ``WithLabeled``) for semi-supervised methods."""
    if train.threads:
        torch.set_num_threads(train.threads)
    if train.reuse_heap:
        keep_freed_memory()
    L.seed_everything(train.seed, workers=True, verbose=False)
    x = seeded_subset(x, train.max_train, train.seed)
    method.check_data(len(x))
    method.train_config = train
    data = TensorDataset(x) if labeled is None else WithLabeled(x, *labeled)
    check_first_batch(method, data)
    L.seed_everything(train.seed, workers=True, verbose=False)  # the check must not shift the stream

    ckpt_path = None
    if resume:
        ckpt_path = (run_dir / CHECKPOINTS / LAST) if run_dir else None
        if ckpt_path is None or not ckpt_path.exists():
            raise CheckpointError(f"nothing to resume: {ckpt_path} does not exist; start the run without --resume")

    loader = DataLoader(
        data, batch_size=train.batch_size, shuffle=True, num_workers=train.num_workers,
        generator=torch.Generator().manual_seed(train.seed), persistent_workers=train.num_workers > 0,
    )
    history = History()
    hint = str(run_dir / CHECKPOINTS) if run_dir else None
    # Lightning's INFO lines ("GPU available: False", tips) say nothing about this run.
    for name in ("lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*does not have many workers.*")
        warnings.filterwarnings("ignore", ".*number of training batches.*")
        warnings.filterwarnings("ignore", ".*exists and is not empty.*")
        # A resumed run in a moved folder: the callback's best-k state is not reloaded; it keeps none.
        warnings.filterwarnings("ignore", ".*dirpath has changed from.*")
        # Lightning 2.6 calls a torch._pytree API that torch 2.13 deprecates; not ours to fix.
        warnings.filterwarnings("ignore", ".*LeafSpec.*", category=FutureWarning)
        trainer = make_trainer(train, method.total_epochs(train.epochs), run_dir, [NaNGuard(hint), history])
        trainer.fit(method, loader, ckpt_path=ckpt_path, weights_only=True if ckpt_path else None)
    seconds = time.perf_counter() - start
    final = history.epochs[-1] if history.epochs else {}
    return {
        "epochs": trainer.current_epoch,
        "train_samples": len(x),
        "train_seconds": round(seconds, 3),
        "final": {k: v for k, v in final.items() if k != "epoch"},
        "curves": history.epochs,
    }
