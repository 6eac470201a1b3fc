"""Generative metrics: FID, KID and Inception Score through torchmetrics.

Inception-v3 features are the usual extractor, but its weights are a download and were
trained on ImageNet photos, not 28x28 clothes. The default extractor is therefore a
*domain classifier*: a small CNN trained on the dataset's own labeled train split,
cached under ``~/.cache/tenshot/evaluators/`` with its test accuracy. FID/KID use its
penultimate features, IS its class probabilities. Inception is used when asked for and
its weights are present locally (torch-fidelity's file); nothing is ever downloaded.

Every figure comes with the *real-data floor*: the same metric between two disjoint
sets of real images (test vs. train), i.e. the best a perfect generator could show.
"""

from __future__ import annotations

import hashlib
import importlib.util
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.inception import InceptionScore
from torchmetrics.image.kid import KernelInceptionDistance

from tenshot import io
from tenshot.data.dataset import Dataset
from tenshot.errors import ConfigError, DataError

Extractor = Literal["auto", "domain", "inception"]
Sampler = Callable[[int, torch.Generator], torch.Tensor]  # (n, generator) -> (n, C, H, W) in [0, 1]

INCEPTION_WEIGHTS = Path.home() / ".cache" / "torch" / "hub" / "checkpoints" / "weights-inception-2015-12-05-6726825d.pth"


class DomainClassifier(nn.Module):
    """Three stride-2 conv blocks, global average pooling, a linear head.

    ``forward`` gives logits (N, K); ``features`` the pooled (N, 128) activations.
    """

    def __init__(self, channels: int, n_classes: int, width: int = 32) -> None:
        super().__init__()
        blocks, c = [], channels
        for w in (width, 2 * width, 4 * width):
            blocks += [nn.Conv2d(c, w, 3, stride=2, padding=1), nn.BatchNorm2d(w), nn.ReLU()]
            c = w
        self.body = nn.Sequential(*blocks)
        self.head = nn.Linear(c, n_classes)
        self.num_features = c  # torchmetrics reads this instead of probing with a dummy image

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class _Penultimate(nn.Module):
    """The classifier's features as a torchmetrics FID/KID extractor."""

    def __init__(self, clf: DomainClassifier) -> None:
        super().__init__()
        self.clf = clf
        self.num_features = clf.num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.clf.features(x.float())


class _Logits(nn.Module):
    """The classifier's logits as a torchmetrics IS extractor (it applies the softmax)."""

    def __init__(self, clf: DomainClassifier) -> None:
        super().__init__()
        self.clf = clf

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.clf(x.float())


def _fingerprint(ds: Dataset) -> str:
    """Identifies the data an evaluator was trained on: name, shape, a hash of its pixels."""
    h = hashlib.sha256()
    h.update(f"{ds.name}:{tuple(ds.x_train.shape)}:{ds.num_classes}".encode())
    h.update(ds.x_train[:: max(1, len(ds.x_train) // 2000)].numpy().tobytes())
    return h.hexdigest()[:16]


@torch.no_grad()
def _accuracy(clf: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    clf.eval()
    pred = torch.cat([clf(x[i : i + 1000]).argmax(1) for i in range(0, len(x), 1000)])
    return float((pred == y).float().mean())


@torch.enable_grad()  # callers score under no_grad
def train_domain_classifier(ds: Dataset, epochs: int = 3, seed: int = 0, batch_size: int = 128) -> tuple[DomainClassifier, float]:
    """Train on the labeled train split; return the classifier and its test accuracy."""
    torch.manual_seed(seed)
    clf = DomainClassifier(ds.input_shape[0], ds.num_classes)
    opt = torch.optim.Adam(clf.parameters(), lr=2e-3)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        clf.train()
        for idx in torch.randperm(len(ds.x_train), generator=gen).split(batch_size):
            loss = F.cross_entropy(clf(ds.x_train[idx]), ds.y_train[idx])  # type: ignore[index]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return clf.eval(), _accuracy(clf, ds.x_test, ds.y_test)  # type: ignore[arg-type]


def domain_classifier(ds: Dataset, cache: Path | None = None, epochs: int = 3) -> tuple[DomainClassifier, dict[str, Any]]:
    """The cached evaluator for ``ds`` (trained once, then loaded from safetensors)."""
    if ds.y_train is None or ds.x_test is None or ds.y_test is None:
        raise DataError(f"scoring needs labeled data with a test split to train its evaluator; {ds.name} has none")
    cache = cache or Path.home() / ".cache" / "tenshot" / "evaluators"
    key = f"{ds.name.replace('/', '_')}-{_fingerprint(ds)}"
    weights, meta_path = cache / f"{key}.safetensors", cache / f"{key}.json"
    clf = DomainClassifier(ds.input_shape[0], ds.num_classes)
    if weights.exists() and meta_path.exists():
        clf.load_state_dict(io.load_weights(weights))
        return clf.eval(), io.read_json(meta_path)
    start = time.perf_counter()
    clf, acc = train_domain_classifier(ds, epochs=epochs)
    meta = {"name": "domain", "data": ds.name, "test_accuracy": round(acc, 4), "epochs": epochs,
            "train_seconds": round(time.perf_counter() - start, 1), "path": str(weights)}
    io.save_weights(weights, clf.state_dict())
    io.write_json(meta_path, meta)
    return clf, meta


def _extractors(ds: Dataset, extractor: Extractor) -> tuple[nn.Module | int, nn.Module | str, dict[str, Any], bool]:
    """(FID/KID feature, IS feature, description, images need 3 channels)."""
    inception_ok = importlib.util.find_spec("torch_fidelity") is not None and INCEPTION_WEIGHTS.exists()
    if extractor == "inception" and not inception_ok:
        raise ConfigError(
            f"Inception features need torch-fidelity and its weights at {INCEPTION_WEIGHTS} (tenshot never "
            "downloads them); use --extractor domain, or install torch-fidelity and place the weights there"
        )
    if extractor == "inception" or (extractor == "auto" and inception_ok and ds.input_shape[0] == 3):
        return 2048, "logits_unbiased", {"name": "inception", "path": str(INCEPTION_WEIGHTS)}, True
    if extractor not in ("auto", "domain"):
        raise ConfigError(f"unknown extractor {extractor!r}: use auto, domain or inception")
    clf, meta = domain_classifier(ds)
    return _Penultimate(clf), _Logits(clf), meta, False


def _batches(x: torch.Tensor, size: int = 500):
    for i in range(0, len(x), size):
        yield x[i : i + size]


def _metrics(real: torch.Tensor, other: torch.Tensor, fid_feat, is_feat, rgb: bool, kid_subset: int) -> dict[str, float]:
    """FID and KID of ``other`` against ``real``, and the IS of ``other``."""
    prep = (lambda t: t.expand(-1, 3, -1, -1) if rgb and t.shape[1] == 1 else t)  # noqa: E731
    fid = FrechetInceptionDistance(feature=fid_feat, normalize=True)
    kid = KernelInceptionDistance(feature=fid_feat, normalize=True, subset_size=min(kid_subset, len(real), len(other)))
    # IS converts [0, 1] floats to bytes whenever normalize is set, custom extractor or not,
    # so only the Inception network (which wants bytes) gets normalize=True.
    score = InceptionScore(feature=is_feat, normalize=rgb, splits=10)
    for b in _batches(real):
        fid.update(prep(b), real=True)
        kid.update(prep(b), real=True)
    for b in _batches(other):
        fid.update(prep(b), real=False)
        kid.update(prep(b), real=False)
        score.update(prep(b))
    kid_mean, kid_std = kid.compute()
    is_mean, is_std = score.compute()
    return {"fid": float(fid.compute()), "kid": float(kid_mean), "kid_std": float(kid_std),
            "inception_score": float(is_mean), "inception_score_std": float(is_std)}


@torch.no_grad()
def generative_scores(sample: Sampler, ds: Dataset, n: int = 5000, extractor: Extractor = "auto", seed: int = 0) -> dict[str, Any]:
    """Score ``n`` generated images against ``n`` real test images, with the real floor.

    Args:
        sample: ``(n, generator) -> (n, C, H, W)`` images in [0, 1] (a method's ``sample``).
        ds: labeled data with a test split (the evaluator is trained on its train split).
        n: images per set (FID is biased for small n: compare figures at equal n only).

    Returns:
        ``{"fid", "kid", "kid_std", "inception_score", "inception_score_std",
        "real_floor": {same keys, train vs. test}, "extractor": {...}, "n": n}``.
    """
    if n < 2:
        raise ConfigError(f"--n must be at least 2 to estimate a covariance, got {n}")
    fid_feat, is_feat, meta, rgb = _extractors(ds, extractor)
    real = ds.x_test[:n]  # type: ignore[index]
    gen = torch.Generator().manual_seed(seed)
    fake = torch.cat([sample(len(b), gen) for b in _batches(torch.empty(n, 0))])
    if fake.shape[1:] != real.shape[1:]:
        raise DataError(f"the model generates images of shape {tuple(fake.shape[1:])} but {ds.name} has {tuple(real.shape[1:])}")
    if not torch.isfinite(fake).all():
        raise DataError("the model generated NaN/Inf pixels; its training diverged")
    pick = torch.Generator().manual_seed(seed)  # the floor's real set does not depend on the sampler
    other_real = ds.x_train[torch.randperm(len(ds.x_train), generator=pick)[: len(real)]]
    kid_subset = 1000
    with torch.random.fork_rng(), warnings.catch_warnings():  # KID subsets and IS splits use the global RNG
        torch.manual_seed(seed)
        warnings.filterwarnings("ignore", ".*will save all extracted features.*")
        model = _metrics(real, fake.clamp(0, 1), fid_feat, is_feat, rgb, kid_subset)
        floor = _metrics(real, other_real, fid_feat, is_feat, rgb, kid_subset)
    return {**model, "real_floor": floor, "extractor": meta, "n": len(real)}
