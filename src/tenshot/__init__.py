"""tenshot: learn a representation from unlabeled data, then the task from ten labels per class."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

# Imported on first use: `tenshot --help` should not wait for torch and Lightning.
_LAZY = {
    "Pretrainer": "tenshot.api",
    "FewShotClassifier": "tenshot.api",
    "SemiSupervisedClassifier": "tenshot.api",
    "SemiSupervisedEnsemble": "tenshot.api",
    "Dataset": "tenshot.data",
    "load_dataset": "tenshot.data",
}

__all__ = [*_LAZY, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tenshot' has no attribute {name!r}")
