"""The in-memory dataset every tenshot component consumes."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class Dataset:
    """Images as float32 tensors in [0, 1], shape (N, C, H, W); labels int64 (N,).

    ``y_train`` is ``None`` for unlabeled data (a flat ``folder:``, an npz without ``y``).
    ``x_test``/``y_test`` are ``None`` when the source has no test split and no labels
    to make one from.
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor | None = None
    x_test: torch.Tensor | None = None
    y_test: torch.Tensor | None = None
    classes: list[str] = field(default_factory=list)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        return tuple(self.x_train.shape[1:])  # type: ignore[return-value]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def labeled(self) -> bool:
        return self.y_train is not None

    def __repr__(self) -> str:
        n_test = 0 if self.x_test is None else len(self.x_test)
        return (
            f"Dataset({self.name!r}, train={len(self.x_train)}, test={n_test}, "
            f"shape={self.input_shape}, classes={self.num_classes})"
        )
