"""Shrinkage LDA that solves by Cholesky: the ``lda`` probe's classifier.

scikit-learn's ``LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")`` estimates
class means and one prior-weighted within-class covariance, each class's pulled toward
the identity by the Ledoit-Wolf formula, then solves ``covariance @ coef.T = means.T``
with ``scipy.linalg.lstsq`` -- an SVD-based solver meant for singular systems. A
Ledoit-Wolf covariance with shrinkage > 0 is positive definite, so a Cholesky solve gives
the same coefficients several times faster: on 100 rows, one thread, 3x at 1024
features, 4x at 2048, 7x at 4608 (a 512-map wta-ae, 3x3 grid: 65 s -> 9 s on a busy
machine; ``benchmarks/lda_solve.py``). That is what makes ``lda`` and ``self-train``
(30 LDA fits per split) affordable on wide features.

Everything else -- input checks, priors, classes, the two-class case, ``predict_proba`` --
is scikit-learn's: only the private solve step is replaced. Where the covariance is not
positive definite (no shrinkage: more rows than features, degenerate data) it falls back
to ``lstsq``, as before. ``solve_`` tells which one ran.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import linalg
from sklearn.covariance import ledoit_wolf
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.preprocessing import StandardScaler


def shrunk_within_class_covariance(x: np.ndarray, y: np.ndarray, classes: np.ndarray, priors: np.ndarray) -> np.ndarray:
    """sum_k prior_k * LedoitWolf(class k), each estimated on standardised features and
    scaled back (as scikit-learn's ``shrinkage="auto"`` does): (n, d) -> (d, d)."""
    cov = np.zeros((x.shape[1], x.shape[1]))
    for prior, c in zip(priors, classes):
        rows = x[y == c]
        scaler = StandardScaler().fit(rows)
        shrunk = ledoit_wolf(scaler.transform(rows))[0]
        cov += prior * (scaler.scale_[:, None] * shrunk * scaler.scale_[None, :])
    return cov


class ShrinkageLDA(LinearDiscriminantAnalysis):
    """``LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")`` with a Cholesky solve.

    Other solvers, shrinkages or a ``covariance_estimator`` run scikit-learn's code
    unchanged. Fitted, beyond the parent's attributes: ``solve_`` ("cholesky" or "lstsq").
    """

    def __init__(self, solver: str = "lsqr", shrinkage: Any = "auto", priors: Any = None,
                 n_components: Any = None, store_covariance: bool = False, tol: float = 1e-4,
                 covariance_estimator: Any = None) -> None:
        super().__init__(solver=solver, shrinkage=shrinkage, priors=priors, n_components=n_components,
                         store_covariance=store_covariance, tol=tol, covariance_estimator=covariance_estimator)

    def _solve_lstsq(self, X: np.ndarray, y: np.ndarray, shrinkage: Any, covariance_estimator: Any) -> None:
        if shrinkage != "auto" or covariance_estimator is not None:
            self.solve_ = "lstsq"
            return super()._solve_lstsq(X, y, shrinkage=shrinkage, covariance_estimator=covariance_estimator)
        self.means_ = np.stack([X[y == c].mean(axis=0) for c in self.classes_])  # (K, d)
        self.covariance_ = shrunk_within_class_covariance(X, y, self.classes_, self.priors_)
        try:
            factor = linalg.cho_factor(self.covariance_, check_finite=False)
            coef = linalg.cho_solve(factor, self.means_.T, check_finite=False)
            self.solve_ = "cholesky"
        except linalg.LinAlgError:  # not positive definite (e.g. zero shrinkage on singular data)
            coef = linalg.lstsq(self.covariance_, self.means_.T)[0]
            self.solve_ = "lstsq"
        self.coef_ = coef.T  # (K, d)
        self.intercept_ = -0.5 * np.einsum("kd,kd->k", self.means_, self.coef_) + np.log(self.priors_)
