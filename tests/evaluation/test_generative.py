"""FID/KID/IS with the domain-classifier extractor: a copy of the data scores near the
real floor, noise scores far from it; the evaluator is trained once and cached."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tenshot.errors import ConfigError, DataError
from tenshot.evaluation.generative import domain_classifier, generative_scores


def test_scores_rank_copies_above_noise(digits_ds):
    noise = lambda n, g: torch.rand(n, 1, 8, 8, generator=g)  # noqa: E731
    copies = lambda n, g: digits_ds.x_train[torch.randint(len(digits_ds.x_train), (n,), generator=g)]  # noqa: E731
    bad = generative_scores(noise, digits_ds, n=200)
    good = generative_scores(copies, digits_ds, n=200)
    assert good["extractor"]["name"] == "domain" and good["extractor"]["test_accuracy"] > 0.85
    assert bad["fid"] > 5 * good["fid"] and bad["kid"] > good["kid"]
    assert good["inception_score"] > 2 * bad["inception_score"]
    floor = good["real_floor"]
    assert floor == bad["real_floor"]  # the floor does not depend on the model
    assert abs(good["fid"] - floor["fid"]) < 0.5 * bad["fid"]
    again = generative_scores(copies, digits_ds, n=200)
    assert again["fid"] == good["fid"]  # seeded


def test_evaluator_is_cached(digits_ds):
    clf, meta = domain_classifier(digits_ds)
    assert Path(meta["path"]).exists() and Path(meta["path"]).is_relative_to(Path.home() / ".cache" / "tenshot")
    again, meta2 = domain_classifier(digits_ds)
    assert meta2 == meta
    assert all(torch.equal(a, b) for a, b in zip(clf.state_dict().values(), again.state_dict().values()))


def test_errors(digits_ds):
    with pytest.raises(ConfigError, match="never downloads"):
        generative_scores(lambda n, g: torch.rand(n, 1, 8, 8), digits_ds, n=10, extractor="inception")
    with pytest.raises(DataError, match="shape"):
        generative_scores(lambda n, g: torch.rand(n, 1, 4, 4), digits_ds, n=10)
    with pytest.raises(DataError, match="NaN"):
        generative_scores(lambda n, g: torch.full((n, 1, 8, 8), float("nan")), digits_ds, n=10)
