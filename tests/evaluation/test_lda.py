import numpy as np
import pytest
from sklearn.covariance import ledoit_wolf_shrinkage
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from tenshot.evaluation.lda import ShrinkageLDA, ledoit_wolf_shrinkage_gram
from tenshot.evaluation.probes import make_probe


# fewer rows than features (Woodbury), more (Cholesky), two classes each way, a feature
# that is constant within every class and one whose variances differ by 1e6 across features
@pytest.mark.parametrize("n, d, k, solve", [(60, 200, 3, "woodbury"), (20, 300, 2, "woodbury"),
                                            (500, 50, 4, "cholesky"), (40, 30, 2, "cholesky")])
def test_fast_solves_give_scikit_learns_lsqr_shrinkage_lda(n, d, k, solve):
    rng = np.random.default_rng(n)
    y = rng.integers(0, k, n) * 3 + 1  # labels that are not 0..k-1
    x = rng.normal(size=(n, d)) * np.logspace(-1.5, 1.5, d)
    x[:, :3] += y[:, None]
    x[:, 3] = y  # constant within each class
    ref = LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto").fit(x, y)
    fast = ShrinkageLDA(store_covariance=True).fit(x, y)
    assert fast.solve_ == solve
    np.testing.assert_allclose(fast.coef_, ref.coef_, rtol=1e-6, atol=1e-8)  # the spread makes lstsq lose digits too
    np.testing.assert_allclose(fast.intercept_, ref.intercept_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(fast.covariance_, ref.covariance_, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(fast.predict_proba(x), ref.predict_proba(x), atol=1e-10)
    assert (fast.predict(x) == ref.predict(x)).all()


def test_woodbury_path_forms_no_covariance_unless_asked():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(30, 100)), np.arange(30) % 3
    fit = ShrinkageLDA().fit(x, y)
    assert fit.solve_ == "woodbury" and not hasattr(fit, "covariance_")


@pytest.mark.parametrize("n, d", [(10, 500), (300, 40), (2, 7)])
def test_gram_ledoit_wolf_shrinkage_is_scikit_learns(n, d):
    z = np.random.default_rng(d).normal(size=(n, d)) * np.linspace(0.1, 3, d)
    z -= z.mean(axis=0)
    assert ledoit_wolf_shrinkage_gram(z) == pytest.approx(ledoit_wolf_shrinkage(z, assume_centered=True), rel=1e-10)


def test_other_settings_run_scikit_learns_solver():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(80, 5)), np.repeat([0, 1], 40)
    fixed = ShrinkageLDA(shrinkage=0.3).fit(x, y)
    assert fixed.solve_ == "lstsq"
    np.testing.assert_allclose(fixed.coef_, LinearDiscriminantAnalysis(solver="lsqr", shrinkage=0.3).fit(x, y).coef_)


def test_the_lda_probe_uses_it():
    assert isinstance(make_probe("lda", 10, seed=0).steps[-1][1], ShrinkageLDA)
