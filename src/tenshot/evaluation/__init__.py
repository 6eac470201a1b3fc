"""Few-label evaluation: probes, sources, the label-efficiency protocol and its plot.

No peeking: hyperparameters are chosen by cross-validation on the labeled subset only;
test labels are read once, to score the final predictions (see ``protocol``).
"""

from __future__ import annotations

from tenshot.evaluation.plot import plot_label_efficiency
from tenshot.evaluation.probes import PROBES, describe_selection, make_probe
from tenshot.evaluation.protocol import label_efficiency, probe_report
from tenshot.evaluation.semisup import SemiSupervisedSource
from tenshot.evaluation.sources import FeatureSource, Source, fixed_probes, pca_source, pixels_source

__all__ = [
    "PROBES",
    "FeatureSource",
    "SemiSupervisedSource",
    "Source",
    "describe_selection",
    "fixed_probes",
    "label_efficiency",
    "make_probe",
    "pca_source",
    "pixels_source",
    "plot_label_efficiency",
    "probe_report",
]
