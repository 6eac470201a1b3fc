"""One small pure function per loss."""

from tenshot.losses.contrastive import nt_xent, nt_xent_logits
from tenshot.losses.pretext import ab_regression_loss, pretext_classification, top1_accuracy
from tenshot.losses.reconstruction import reconstruction_loss
from tenshot.losses.sparsity import kl_sparsity_penalty, l1_activation_penalty

__all__ = [
    "ab_regression_loss", "kl_sparsity_penalty", "l1_activation_penalty", "nt_xent", "nt_xent_logits", "pretext_classification", "reconstruction_loss", "top1_accuracy"]
