"""Few-label splits: exactly n labeled examples per class, the same for every method.

The indices depend only on (labels, n, seed), so two runs with the same seed -- a
pretrained encoder and a baseline, today and next month -- are scored on the very
same labeled examples.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from tenshot.errors import ConfigError, DataError


def few_label_indices(
    y: np.ndarray | torch.Tensor, n_per_class: int | None, seed: int, classes: Sequence[str] | None = None
) -> np.ndarray:
    """Sorted indices of exactly ``n_per_class`` examples of every class (``None``: all).

    Each class draws from its own generator seeded by (seed, class), so the draw for one
    class does not shift when another class is added or has more examples.

    Raises:
        DataError: a class has fewer than ``n_per_class`` labeled examples (says which,
            and the largest n that works).
    """
    y = y.cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
    if n_per_class is None:
        return np.arange(len(y))
    if n_per_class < 1:
        raise ConfigError(f"labels per class must be >= 1, got {n_per_class}")
    labels, counts = np.unique(y, return_counts=True)
    if counts.min() < n_per_class:
        c = labels[counts.argmin()]
        name = classes[int(c)] if classes is not None and 0 <= int(c) < len(classes) else str(c)
        raise DataError(
            f"class {name!r} has only {counts.min()} labeled examples; "
            f"use --labels-per-class {counts.min()} or fewer"
        )
    picked = []
    for c in labels:
        members = np.flatnonzero(y == c)
        rng = np.random.default_rng([seed, int(c)])
        picked.append(rng.choice(members, n_per_class, replace=False))
    return np.sort(np.concatenate(picked))


def parse_labels_per_class(text: str) -> list[int | None]:
    """``"1,5,10,100,all"`` -> ``[1, 5, 10, 100, None]``."""
    out: list[int | None] = []
    for part in text.split(","):
        part = part.strip().lower()
        if part == "all":
            out.append(None)
            continue
        try:
            n = int(part)
        except ValueError:
            n = 0
        if n < 1:
            raise ConfigError(f"--labels-per-class: {part!r} is not a count >= 1 or 'all'; e.g. 1,10,100,all")
        out.append(n)
    if not out:
        raise ConfigError("--labels-per-class is empty; e.g. 1,10,100,all")
    return out
