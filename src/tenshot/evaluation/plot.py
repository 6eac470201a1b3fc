"""The label-efficiency plot: test accuracy vs. labels per class, one line per source.

Uses matplotlib's object API on an Agg canvas (no pyplot, no global state, no display
needed), and writes atomically so a crashed run never leaves a truncated PNG behind.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tenshot.errors import ConfigError
from tenshot.io import atomic_path


def _x_positions(values: Iterable[int | str]) -> dict[int | str, float]:
    """Numeric labels-per-class sit at their value on a log axis; "all" one decade past the largest."""
    numeric = sorted({v for v in values if v != "all"})
    pos: dict[int | str, float] = {v: float(v) for v in numeric}
    if "all" in set(values):
        pos["all"] = float(numeric[-1]) * 10.0 if numeric else 1.0
    return pos


def plot_label_efficiency(results: list[dict[str, Any]], path: str | os.PathLike[str], title: str | None = None) -> Path:
    """Draw mean accuracy (± std band) vs. labels per class; one line per (source, probe).

    Args:
        results: records from ``label_efficiency`` (keys "source", "probe",
            "labels_per_class", "accuracy_mean", "accuracy_std").
        path: output image; the format follows the suffix (.png, .svg, .pdf).
        title: defaults to "Label efficiency".

    Returns:
        The written path.
    """
    if not results:
        raise ConfigError("no results to plot: run label_efficiency(...) first")
    path = Path(path)
    missing = {"labels_per_class", "accuracy_mean"} - set(results[0])
    if missing:
        raise ConfigError(f"results records lack {sorted(missing)}; pass the output of label_efficiency")

    pos = _x_positions([r["labels_per_class"] for r in results])
    lines: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in results:
        lines.setdefault((str(r.get("source", "?")), str(r.get("probe", "?"))), []).append(r)
    one_probe = len({probe for _, probe in lines}) == 1

    fig = Figure(figsize=(7.0, 4.5), dpi=120, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for (source, probe), recs in lines.items():
        recs = sorted(recs, key=lambda r: pos[r["labels_per_class"]])
        x = [pos[r["labels_per_class"]] for r in recs]
        y = [float(r["accuracy_mean"]) for r in recs]
        err = [float(r.get("accuracy_std", 0.0)) for r in recs]
        label = source if one_probe else f"{source} ({probe})"
        (line,) = ax.plot(x, y, marker="o", linewidth=1.8, markersize=5, label=label)
        ax.fill_between(x, [a - e for a, e in zip(y, err)], [a + e for a, e in zip(y, err)], color=line.get_color(), alpha=0.15, linewidth=0)
        ax.errorbar(x, y, yerr=err, fmt="none", ecolor=line.get_color(), elinewidth=1, capsize=3)

    ax.set_xscale("log")
    ticks = sorted(pos.items(), key=lambda kv: kv[1])
    ax.set_xticks([p for _, p in ticks], [str(v) for v, _ in ticks])
    ax.minorticks_off()  # only the evaluated label counts are meaningful ticks
    ax.set_xlabel("labels per class")
    ax.set_ylabel("test accuracy")
    probe_note = f" — {next(iter(lines))[1]} probe" if one_probe else ""
    ax.set_title((title or "Label efficiency") + probe_note)
    ax.grid(True, which="major", alpha=0.35)
    ax.legend(loc="lower right", frameon=True, fontsize=9)

    fmt = path.suffix.lstrip(".").lower() or "png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt)
    return path
