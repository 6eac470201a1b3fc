"""Losses of the semi-supervised K+1-class GAN (Salimans et al. 2016, "Improved Techniques
for Training GANs", sec. 5).

The discriminator is a K-class classifier with logits l_1..l_K; "generated" is class K+1,
whose logit is fixed at 0 (a softmax is unchanged by shifting every logit, so one of the
K+1 may as well be 0). With Z(x) = sum_k exp(l_k(x)):

    p(real | x) = D(x) = Z / (Z + 1) = sigmoid(logsumexp(l)),

so logsumexp(l) is D's real/fake logit and every term below is written with it, in the
stable forms log sigmoid(t) = -softplus(-t) and log(1 - sigmoid(t)) = -softplus(t).
Every function returns a scalar averaged over its batch. The generator is trained by
feature matching: ``tenshot.losses.gan.feature_matching_loss``. ``manifold_penalty`` is
the optional regulariser of Lecouat et al. 2018 ("Semi-supervised learning with GANs:
revisiting manifold regularization"); ``consistency_loss`` the optional Mean Teacher term
(Tarvainen & Valpola 2017).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _check_logits(name: str, logits: torch.Tensor) -> None:
    if logits.dim() != 2 or logits.shape[1] < 2:
        raise ValueError(f"{name} must be class logits of shape (N, K) with K >= 2, got {tuple(logits.shape)}")


def real_logit(logits: torch.Tensor) -> torch.Tensor:
    """The real/fake logit logsumexp(l): D(x) = sigmoid(real_logit) = Z / (Z + 1).

    logits: (N, K) -> (N,)
    """
    _check_logits("logits", logits)
    return torch.logsumexp(logits, dim=1)


def supervised_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """-E log p(y | x, y < K+1) on the labeled batch: the cross-entropy over the K real
    classes (L_supervised, eq. 2 of sec. 5); the fake class does not enter it.

    logits: (N, K); labels: (N,) integers in [0, K) -> ()
    """
    _check_logits("logits", logits)
    if labels.shape != logits.shape[:1]:
        raise ValueError(f"labels {tuple(labels.shape)} must have one entry per row of logits {tuple(logits.shape)}")
    return F.cross_entropy(logits, labels)


def unsupervised_loss(unlabeled_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """-E_x log D(x) - E_z log(1 - D(G(z))) (L_unsupervised, sec. 5): the GAN game played
    by the classifier, with D(x) = sigmoid(lse) and lse = logsumexp of the K logits:

        -mean(lse_unl) + mean(softplus(lse_unl)) + mean(softplus(lse_fake))

    (-log sigmoid(t) = softplus(t) - t). The authors' code halves this term.

    unlabeled_logits: (N, K); fake_logits: (M, K), M need not equal N -> ()
    """
    _check_logits("unlabeled_logits", unlabeled_logits)
    _check_logits("fake_logits", fake_logits)
    if unlabeled_logits.shape[1] != fake_logits.shape[1]:
        raise ValueError(
            f"unlabeled logits {tuple(unlabeled_logits.shape)} and fake logits {tuple(fake_logits.shape)} "
            "must come from the same discriminator (same number of classes K)"
        )
    lse_unl, lse_fake = real_logit(unlabeled_logits), real_logit(fake_logits)
    return -lse_unl.mean() + F.softplus(lse_unl).mean() + F.softplus(lse_fake).mean()


def manifold_penalty(logits: torch.Tensor, perturbed_logits: torch.Tensor) -> torch.Tensor:
    """Monte Carlo manifold regulariser of Lecouat et al. 2018: the mean over pairs of
    ||l(G(z)) - l(G(z + eps * r / ||r||))||^2, the squared change of the class logits
    between a generated image and its neighbour on G's manifold (a finite-difference
    estimate of eps^2 ||J_z l(G(z)) r||^2, the Laplacian norm of the classifier along the
    data manifold). Row i of each argument comes from the same z.

    logits, perturbed_logits: (N, K) -> ()
    """
    _check_logits("logits", logits)
    if perturbed_logits.shape != logits.shape:
        raise ValueError(
            f"perturbed logits {tuple(perturbed_logits.shape)} must pair row by row with logits {tuple(logits.shape)}"
        )
    return (logits - perturbed_logits).square().sum(dim=1).mean()


def consistency_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    """Mean Teacher consistency (Tarvainen & Valpola 2017): the mean over rows of
    ||softmax(student) - softmax(teacher)||^2, the squared distance between the class
    distributions that the student and the teacher (the moving average of the student,
    under other noise draws) give the same unlabeled image. The teacher is a target: no
    gradient reaches it. The MSE of probabilities, not a KL, as in the paper: bounded, so a
    confident wrong teacher cannot dominate the labeled loss.

    student_logits, teacher_logits: (N, K), row i of both from the same image -> ()
    """
    _check_logits("student_logits", student_logits)
    if teacher_logits.shape != student_logits.shape:
        raise ValueError(
            f"teacher logits {tuple(teacher_logits.shape)} must pair row by row with student logits "
            f"{tuple(student_logits.shape)}"
        )
    target = F.softmax(teacher_logits.detach(), dim=1)
    return (F.softmax(student_logits, dim=1) - target).square().sum(dim=1).mean()
