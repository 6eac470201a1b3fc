"""The engine: a thin layer over Lightning."""

from tenshot.training.engine import fit, parse_devices, seeded_subset

__all__ = ["fit", "parse_devices", "seeded_subset"]
