"""Losses of the pretext tasks: a made-up labelling of unlabeled images (which way is up,
where is this patch, what colour is this pixel) that a network can only solve by
learning about the images (Gidaris et al. 2018; Doersch et al. 2015; Zhang et al. 2016).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def pretext_classification(logits: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
    """Cross-entropy of a pretext classifier, and its accuracy.

    logits (N, K) with target (N,) -- one label per example (rotation, patch position) --
    or dense logits (N, K, H, W) with target (N, H, W) -- one label per pixel (colour bin).

    Returns ``{"loss": mean cross-entropy, "pretext_acc": fraction right}``. The accuracy
    is what tells a user the pretext task was learned: chance is 1/K for balanced labels.
    """
    acc = top1_accuracy(logits, target)  # first: it checks the shapes, with a clearer error than cross_entropy's
    return {"loss": F.cross_entropy(logits, target), "pretext_acc": acc}


def top1_accuracy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Fraction of examples (or pixels) whose highest score is the target: the pretext
    task's accuracy, for the pretext and the contrastive families alike.

    logits (B, K) with targets (B,), or (B, K, H, W) with (B, H, W) class indices ->
    scalar in [0, 1] (float, no gradient)
    """
    if logits.dim() < 2 or targets.shape != logits.shape[:1] + logits.shape[2:]:
        raise ValueError(
            f"logits {tuple(logits.shape)} and targets {tuple(targets.shape)} do not match: "
            "expected (B, K) with (B,), or (B, K, H, W) with (B, H, W)"
        )
    return (logits.detach().argmax(dim=1) == targets).float().mean()


def ab_regression_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Squared colour error: pred, target (N, 2, H, W) ab channels -> scalar.

    Summed over the two channels (the Euclidean ab distance of Zhang et al. 2016's
    regression baseline), averaged over pixels and examples, so the loss means the same
    at every image size.
    """
    if pred.shape != target.shape or pred.dim() != 4 or pred.shape[1] != 2:
        raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} must both be (N, 2, H, W)")
    return ((pred - target) ** 2).sum(1).mean()
