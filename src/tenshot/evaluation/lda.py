"""Shrinkage LDA solved by Woodbury or Cholesky: the ``lda`` probe's classifier.

scikit-learn's ``LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")`` estimates
class means and one prior-weighted within-class covariance, each class's pulled toward
the identity by the Ledoit-Wolf formula, then solves ``covariance @ coef.T = means.T``
with ``scipy.linalg.lstsq`` -- an SVD-based solver meant for singular systems. A
Ledoit-Wolf covariance with shrinkage > 0 is positive definite, so a Cholesky solve gives
the same coefficients faster; and with fewer rows than features it need not be formed
at all (below). That is what makes ``lda`` and ``self-train`` (30 LDA fits per split)
affordable on wide features.

Everything else -- input checks, priors, classes, the two-class case, ``predict_proba`` --
is scikit-learn's: only the private solve step is replaced. Where the covariance is not
positive definite (no shrinkage: more rows than features, degenerate data) it falls back
to ``lstsq``, as before. ``solve_`` tells which one ran.

With fewer rows than features -- the few-label case -- the covariance is never formed: it
is a diagonal plus a rank-n term (each class's Ledoit-Wolf estimate is its scatter,
shrunk, plus a multiple of its variances), so the solve goes through the Woodbury
identity in n x n, and each class's Ledoit-Wolf shrinkage is computed from its Gram
matrix (the same sums scikit-learn's ``ledoit_wolf_shrinkage`` takes over d x d blocks).
That costs O(n^2 d) instead of O(n d^2 + d^3): ``solve_ == "woodbury"``, and
``covariance_`` is only formed on request (``store_covariance=True``). One thread,
against scikit-learn's lstsq (``benchmarks/lda_solve.py``): 100 rows x 4608 features
46 s -> 0.02 s; 4100 rows (``self-train``'s last round) x 4608, 60 s -> 4.3 s; with more
rows than features (the Cholesky path, covariance built from the same factors) 3-7x.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import linalg
from sklearn.covariance import ledoit_wolf_shrinkage
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.preprocessing import StandardScaler


def ledoit_wolf_shrinkage_gram(z: np.ndarray) -> float:
    """scikit-learn's ``ledoit_wolf_shrinkage(z, assume_centered=True)`` from the n x n
    Gram matrix: the same formula, whose two d x d sums are n x n ones here --
    sum(z2.T @ z2) = sum_i |z_i|^4 and sum((z.T @ z)^2) = sum((z @ z.T)^2)."""
    n, d = z.shape
    sq = np.einsum("nd,nd->n", z, z)  # |z_i|^2
    trace = sq.sum() / n  # of the empirical covariance
    mu = trace / d
    delta_ = float(np.sum((z @ z.T) ** 2)) / n**2
    beta = (float(np.sum(sq**2)) / n - delta_) / (d * n)
    delta = (delta_ - 2.0 * mu * trace + d * mu**2) / d
    beta = min(beta, delta)
    return 0.0 if beta == 0 else beta / delta


def within_class_covariance_factors(
    x: np.ndarray, y: np.ndarray, classes: np.ndarray, priors: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """sum_k prior_k * LedoitWolf(class k), each estimated on standardised features and
    scaled back (as scikit-learn's ``shrinkage="auto"`` does), as (diag (d,), u (n, d))
    with covariance = diag(diag) + u.T @ u. Class k's term, with z_k its standardised
    rows, s_k their scales and delta_k, mu_k Ledoit-Wolf's shrinkage and target:
    s_k [(1 - delta_k) z_k.T z_k / n_k + delta_k mu_k I] s_k
      = (1 - delta_k) / n_k * c_k.T c_k + delta_k mu_k s_k^2,   c_k = z_k s_k (rows centred)."""
    diag = np.zeros(x.shape[1])
    parts = []
    for prior, c in zip(priors, classes):
        rows = x[y == c]
        scaler = StandardScaler().fit(rows)
        z = scaler.transform(rows)
        # the shrinkage's sums in n x n or in d x d, whichever is smaller
        small = len(z) < z.shape[1]
        shrinkage = ledoit_wolf_shrinkage_gram(z) if small else ledoit_wolf_shrinkage(z, assume_centered=True)
        mu = float(np.einsum("nd,nd->", z, z)) / z.size
        diag += prior * shrinkage * mu * scaler.scale_**2
        parts.append(np.sqrt(prior * (1.0 - shrinkage) / len(rows)) * (rows - scaler.mean_))
    return diag, np.concatenate(parts)


def woodbury_solve(diag: np.ndarray, u: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(diag(diag) + u.T @ u)^-1 @ b for b (d, m), in n x n. Scaled by diag^-1/2 first, so
    the n x n system is I + w w.T (eigenvalues >= 1) however small some variances are."""
    root = np.sqrt(diag)
    w, bs = u / root, b / root[:, None]  # (n, d), (d, m)
    gram = np.eye(len(w)) + w @ w.T
    inner = linalg.cho_solve(linalg.cho_factor(gram, check_finite=False), w @ bs, check_finite=False)
    return (bs - w.T @ inner) / root[:, None]


class ShrinkageLDA(LinearDiscriminantAnalysis):
    """``LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")`` solved by Woodbury or Cholesky.

    Other solvers, shrinkages or a ``covariance_estimator`` run scikit-learn's code
    unchanged. Fitted, beyond the parent's attributes: ``solve_`` ("woodbury",
    "cholesky" or "lstsq"); ``covariance_`` on the Woodbury path only with
    ``store_covariance=True``.
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
        diag, u = within_class_covariance_factors(X, y, self.classes_, self.priors_)
        # Woodbury only where it is cheaper (n < d) and the diagonal is invertible (it is
        # not where no class is shrunk, as with many more rows than features).
        woodbury = len(X) < X.shape[1] and diag.min() > 0
        if not woodbury or self.store_covariance:
            self.covariance_ = np.diag(diag) + u.T @ u
        if woodbury:
            coef, self.solve_ = woodbury_solve(diag, u, self.means_.T), "woodbury"
        else:
            try:
                factor = linalg.cho_factor(self.covariance_, check_finite=False)
                coef = linalg.cho_solve(factor, self.means_.T, check_finite=False)
                self.solve_ = "cholesky"
            except linalg.LinAlgError:  # not positive definite (e.g. zero shrinkage on singular data)
                coef = linalg.lstsq(self.covariance_, self.means_.T)[0]
                self.solve_ = "lstsq"
        self.coef_ = coef.T  # (K, d)
        self.intercept_ = -0.5 * np.einsum("kd,kd->k", self.means_, self.coef_) + np.log(self.priors_)
