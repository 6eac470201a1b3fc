"""Callbacks the engine adds to every Trainer."""

from __future__ import annotations

import math
from typing import Any

import lightning as L
import torch

from tenshot.errors import TrainingError


class NaNGuard(L.Callback):
    """Stop with a clear error the moment a loss is NaN/Inf.

    Raising inside the fit loop aborts before the next checkpoint is written, so the
    last good checkpoint (the previous epoch's) is what stays on disk.
    """

    def __init__(self, checkpoint_hint: str | None = None) -> None:
        self.checkpoint_hint = checkpoint_hint

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int) -> None:
        losses = outputs if isinstance(outputs, dict) else {"loss": outputs}
        for name, value in losses.items():
            if isinstance(value, torch.Tensor) and value.numel() == 1 and not torch.isfinite(value).item():
                kept = f"; the last good checkpoint is kept in {self.checkpoint_hint}" if self.checkpoint_hint else ""
                raise TrainingError(
                    f"{name} became {value.item()} at epoch {trainer.current_epoch + 1}, step {trainer.global_step}"
                    f"{kept}; lower --lr, use --precision 32-true, or check the data for extreme values"
                )


class History(L.Callback):
    """Per-epoch means of everything the method logged (for metrics.json curves)."""

    def __init__(self) -> None:
        self.epochs: list[dict[str, float]] = []

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        row = {"epoch": trainer.current_epoch + 1}
        for key, value in trainer.callback_metrics.items():
            if key.startswith("train/") and isinstance(value, torch.Tensor) and value.numel() == 1:
                v = float(value)
                row[key.removeprefix("train/")] = v if math.isfinite(v) else str(v)
        self.epochs.append(row)

    def state_dict(self) -> dict[str, Any]:
        return {"epochs": self.epochs}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.epochs = list(state_dict.get("epochs", []))
