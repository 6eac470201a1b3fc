import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from tenshot import FewShotClassifier, Pretrainer
from tenshot.errors import CheckpointError, ConfigError, DataError

TINY = dict(method="autoencoder", epochs=1, batch_size=8, encoder="mlp", hidden=(4,), latent_dim=2, loss="mse",
            features="code", accelerator="cpu")


def _expected_failed_checks(estimator):
    if isinstance(estimator, FewShotClassifier):
        return {}  # passes every check
    return {
        # Method options (latent_dim, encoder, ...) are keyword arguments stored as
        # parameters: get_params/set_params/clone handle them (tested below), but this
        # check only knows the names in __init__'s signature.
        "check_no_attributes_set_in_init": "method options are **kwargs parameters, see get_params",
    }


@parametrize_with_checks([Pretrainer(**TINY), FewShotClassifier()], expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_method_options_are_params_and_clone(tiny_ds):
    from sklearn.base import clone

    rep = Pretrainer("sparse-ae", latent_dim=32, sparsity="l1")
    assert rep.get_params()["latent_dim"] == 32
    twin = clone(rep)
    assert twin.get_params() == rep.get_params()
    with pytest.raises(ConfigError, match="unknown option"):
        Pretrainer("autoencoder", latnt_dim=3).fit(tiny_ds.x_train)


def test_pipeline_with_logistic_regression(tiny_ds):
    x = tiny_ds.x_train.numpy()
    pipe = Pipeline([("rep", Pretrainer(**{**TINY, "epochs": 3, "latent_dim": 8, "hidden": (32,)})),
                     ("clf", LogisticRegression(max_iter=500))])
    pipe.fit(x, tiny_ds.y_train.numpy())
    acc = pipe.score(tiny_ds.x_test.numpy(), tiny_ds.y_test.numpy())
    assert acc > 0.6  # three well separated blobs


def test_save_load_round_trip_gives_identical_features(tiny_ds, tmp_path):
    rep = Pretrainer("denoising-ae", epochs=1, latent_dim=8, width=4, accelerator="cpu").fit(tiny_ds.x_train)
    rep.save(tmp_path / "run")
    again = Pretrainer.load(tmp_path / "run")
    assert rep.get_params().items() <= again.get_params().items()  # the loaded one also lists the defaults
    assert np.array_equal(again.transform(tiny_ds.x_test), rep.transform(tiny_ds.x_test))
    assert {p.name for p in (tmp_path / "run").iterdir()} >= {"config.json", "model.safetensors", "metrics.json"}


def test_load_errors(tiny_ds, tmp_path):
    rep = Pretrainer("autoencoder", epochs=1, latent_dim=8, width=4, accelerator="cpu").fit(tiny_ds.x_train)
    rep.save(tmp_path / "run")
    with pytest.raises(CheckpointError, match="saved by method 'autoencoder', not 'sparse-ae'"):
        Pretrainer.load(tmp_path / "run", method="sparse-ae")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="not a tenshot run"):
        Pretrainer.load(tmp_path / "empty")
    (tmp_path / "run" / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="not a readable safetensors"):
        Pretrainer.load(tmp_path / "run")


def test_transform_checks_shape_and_values(tiny_ds):
    rep = Pretrainer("autoencoder", epochs=1, latent_dim=8, width=4, accelerator="cpu").fit(tiny_ds.x_train)
    with pytest.raises(DataError, match="fitted on"):
        rep.transform(np.zeros((2, 1, 9, 9), dtype=np.float32))
    bad = tiny_ds.x_test.numpy().copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(DataError, match="NaN"):
        rep.transform(bad)


def test_few_shot_classifier_on_a_run(tiny_ds, tmp_path):
    rep = Pretrainer(**{**TINY, "epochs": 3}).fit(tiny_ds.x_train)
    rep.save(tmp_path / "run")
    x, y = tiny_ds.x_train[:30], tiny_ds.y_train[:30]  # 10 labels per class
    for representation in (rep, str(tmp_path / "run")):
        clf = FewShotClassifier(representation, probe="linear").fit(x, y)
        assert clf.selection_["selection"].startswith("5-fold") and "C" in clf.selection_
        assert clf.predict_proba(tiny_ds.x_test).shape == (len(tiny_ds.x_test), 3)
        assert 0.0 <= clf.score(tiny_ds.x_test, tiny_ds.y_test) <= 1.0
    knn = FewShotClassifier(None, probe="knn").fit(x, y)
    assert knn.score(tiny_ds.x_test, tiny_ds.y_test) > 0.9  # the blobs are separable in pixel space
    lda = FewShotClassifier(None, probe="lda").fit(x, y)
    assert lda.selection_["shrinkage"] == "ledoit-wolf" and lda.score(tiny_ds.x_test, tiny_ds.y_test) > 0.9
    assert np.allclose(lda.predict_proba(tiny_ds.x_test).sum(1), 1.0)


def test_few_shot_classifier_errors(tiny_ds):
    with pytest.raises(ConfigError, match="unknown probe"):
        FewShotClassifier(probe="forest").fit(tiny_ds.x_train, tiny_ds.y_train)
    with pytest.raises(DataError, match="29 labels for 30"):
        FewShotClassifier(Pretrainer(**TINY)).fit(tiny_ds.x_train[:30], tiny_ds.y_train[:29])
    with pytest.raises(ConfigError, match="no probabilities"):
        FewShotClassifier(probe="svm").fit(tiny_ds.x_train, tiny_ds.y_train).predict_proba(tiny_ds.x_test)
