"""Typed dataclass configs.

Each method has a config dataclass (fields with ``help`` metadata); the CLI turns its
fields into ``--options`` and ``config.json`` stores it. Unknown keys and values outside
a ``Literal`` are errors, never silently ignored: a typo in a hyperparameter must not
produce a run with the default.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal, Union, get_args, get_origin

from tenshot.errors import ConfigError


def opt(default: Any, help: str, **kwargs: Any) -> Any:
    """A dataclass field with a help text (shown by ``tenshot pretrain METHOD --help``)."""
    if isinstance(default, (list, tuple)):
        return field(default_factory=lambda: tuple(default), metadata={"help": help, **kwargs})
    return field(default=default, metadata={"help": help, **kwargs})


def _coerce(name: str, value: Any, tp: Any) -> Any:
    """Check ``value`` against annotation ``tp``; convert JSON-ish values (lists -> tuples)."""
    origin = get_origin(tp)
    if origin is Literal:
        choices = get_args(tp)
        if value not in choices:
            raise ConfigError(f"{name}={value!r} is not valid; choose one of: {', '.join(map(str, choices))}")
        return value
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(name, value, arg)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{name}={value!r} has the wrong type")
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{name}={value!r} must be a list of values, e.g. {name}=[256, 64]")
        (item_tp, *_) = get_args(tp)
        return tuple(_coerce(name, v, item_tp) for v in value)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{name}={value!r} must be true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name}={value!r} must be a whole number")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{name}={value!r} must be a number")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{name}={value!r} must be a string")
        return value
    return value


@dataclass
class Config:
    """Base of every config: strict construction from dicts, JSON round trip."""

    @classmethod
    def field_types(cls) -> dict[str, Any]:
        return typing.get_type_hints(cls)

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None = None, **overrides: Any) -> "Config":
        values = {**(values or {}), **overrides}
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ConfigError(
                f"unknown option(s) {', '.join(unknown)} for {cls.__name__}; "
                f"valid options: {', '.join(sorted(names))}"
            )
        types_ = cls.field_types()
        coerced = {k: _coerce(k, v, types_[k]) for k, v in values.items()}
        config = cls(**coerced)
        config.validate()
        return config

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    def validate(self) -> None:
        """Check value ranges; subclasses extend. Raises ConfigError."""
        for f in dataclasses.fields(self):
            if f.metadata.get("positive"):
                value = getattr(self, f.name)
                values = value if isinstance(value, tuple) else (value,)
                if any(v is not None and v <= 0 for v in values):
                    raise ConfigError(f"{f.name} must be positive, got {value!r}")


@dataclass
class TrainConfig(Config):
    """How to train (the engine's settings), apart from what to train (the method's config)."""

    epochs: int = opt(10, "passes over the unlabeled data (per layer for greedy methods)", positive=True)
    batch_size: int = opt(128, "examples per optimisation step", positive=True)
    lr: float = opt(1e-3, "Adam learning rate", positive=True)
    weight_decay: float = opt(0.0, "Adam weight decay")
    seed: int = opt(0, "random seed: the same seed on CPU gives the same model and metrics")
    max_train: int | None = opt(None, "use at most this many training images (a seeded subset)", positive=True)
    accelerator: str = opt("auto", "Lightning accelerator: auto, cpu, gpu, mps")
    devices: str = opt("auto", "Lightning devices: auto, a count (2) or a list (0,1)")
    strategy: str = opt("auto", "Lightning strategy: auto, ddp, ...")
    precision: str = opt("32-true", "Lightning precision: 32-true, 16-mixed, bf16-mixed")
    num_workers: int = opt(0, "DataLoader worker processes (0 is fastest for in-memory tensors)")
    checkpoint_every: int = opt(1, "save a checkpoint every N epochs (run folders only)", positive=True)
    progress: bool = opt(True, "show a progress bar")
    threads: int | None = opt(None, "torch CPU threads (default: torch's choice)", positive=True)
    reuse_heap: bool = opt(
        True,
        "keep freed heap memory in the process for the next step instead of handing it back to the OS "
        "(glibc; 1.1x for the ssgan on wide feature vectors on CPU, see tenshot.training.heap)",
    )

    def validate(self) -> None:
        super().validate()
        if self.weight_decay < 0:
            raise ConfigError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if self.num_workers < 0:
            raise ConfigError(f"num_workers must be >= 0, got {self.num_workers}")
