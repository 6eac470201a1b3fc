"""Exceptions for user errors.

Every message says what is wrong *and* how to fix it; the CLI prints it as one
``error: ...`` line and exits with status 2. Subclasses of ``ValueError`` where
scikit-learn conventions expect one (bad parameters, bad input arrays).
"""

from __future__ import annotations

from sklearn.exceptions import NotFittedError as _SkNotFittedError


class TenshotError(Exception):
    """Base class of every error tenshot raises on purpose."""


class DataError(TenshotError, ValueError):
    """A dataset cannot be found, read or used (names the file and the problem)."""


class ConfigError(TenshotError, ValueError):
    """A configuration value, option or method name is invalid."""


class CheckpointError(TenshotError):
    """A run folder or checkpoint is missing, corrupt, or belongs to another method."""


class RunExistsError(TenshotError):
    """The output folder already holds a run and neither resume nor force was asked."""


class TrainingError(TenshotError):
    """Training cannot go on (a NaN/Inf loss, a diverged model)."""


class NotFittedError(TenshotError, _SkNotFittedError):
    """``transform``/``save`` called before ``fit``."""
