"""Losses of the contrastive family.

NT-Xent is the normalised temperature-scaled cross-entropy of SimCLR (Chen et al. 2020, "A
Simple Framework for Contrastive Learning of Visual Representations", eq. 1): each of the
2N views must pick out the other view of its image among the 2N - 1 other views of the
batch, by cosine similarity / temperature. Exemplar-CNN's surrogate-class loss (Dosovitskiy
et al. 2014) is a plain softmax cross-entropy, and both families report their pretext
accuracy with ``tenshot.losses.pretext.top1_accuracy``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def nt_xent_logits(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores of every view against the 2N - 1 others, and where each one's positive is.

    Row i holds cos(z_i, z_j) / temperature for all j of the concatenated views
    [z1; z2], with j = i set to -inf (a view is not a candidate for itself); the target of
    view i is its twin i + N (mod 2N). ``F.cross_entropy(logits, targets)`` is NT-Xent,
    and ``top1_accuracy(logits, targets)`` how often the twin scores highest.

    z1, z2: (N, D) projections of two views of the same N images ->
    logits (2N, 2N), targets (2N,) long
    """
    if z1.shape != z2.shape or z1.dim() != 2:
        raise ValueError(f"z1 {tuple(z1.shape)} and z2 {tuple(z2.shape)} must both be (N, D) with the same shape")
    if len(z1) < 1:
        raise ValueError("NT-Xent needs at least one pair of views; got an empty batch")
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}; SimCLR uses 0.1 to 1 (0.5 by default)")
    n = len(z1)
    z = F.normalize(torch.cat([z1, z2]), dim=1)  # cosine similarity = dot product of unit vectors
    logits = z @ z.T / temperature
    self_mask = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_mask, float("-inf"))
    targets = torch.arange(2 * n, device=z.device).roll(n)  # i -> i + N, i + N -> i
    return logits, targets


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """NT-Xent loss (SimCLR, Chen et al. 2020, eq. 1), averaged over all 2N views.

    Between 0 (every view is far more similar to its twin than to anything else) and
    about log(2N - 1) for projections that carry no information about the image.

    z1, z2: (N, D) -> scalar
    """
    logits, targets = nt_xent_logits(z1, z2, temperature)
    return F.cross_entropy(logits, targets)
