import numpy as np
import pytest
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from tenshot.evaluation.lda import ShrinkageLDA
from tenshot.evaluation.probes import make_probe


@pytest.mark.parametrize("n, d, k", [(60, 200, 3), (500, 50, 4), (40, 30, 2)])  # fewer rows than features, more, two classes
def test_cholesky_solve_gives_scikit_learns_lsqr_shrinkage_lda(n, d, k):
    rng = np.random.default_rng(n)
    y = rng.integers(0, k, n) * 3 + 1  # labels that are not 0..k-1
    x = rng.normal(size=(n, d))
    x[:, :3] += y[:, None]
    ref = LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto").fit(x, y)
    fast = ShrinkageLDA().fit(x, y)
    assert fast.solve_ == "cholesky"
    np.testing.assert_allclose(fast.coef_, ref.coef_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(fast.intercept_, ref.intercept_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(fast.covariance_, ref.covariance_, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(fast.predict_proba(x), ref.predict_proba(x), atol=1e-10)
    assert (fast.predict(x) == ref.predict(x)).all()


def test_other_settings_run_scikit_learns_solver():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(80, 5)), np.repeat([0, 1], 40)
    fixed = ShrinkageLDA(shrinkage=0.3).fit(x, y)
    assert fixed.solve_ == "lstsq"
    np.testing.assert_allclose(fixed.coef_, LinearDiscriminantAnalysis(solver="lsqr", shrinkage=0.3).fit(x, y).coef_)


def test_the_lda_probe_uses_it():
    assert isinstance(make_probe("lda", 10, seed=0).steps[-1][1], ShrinkageLDA)
