"""One small pure function per loss."""

from tenshot.losses.reconstruction import reconstruction_loss
from tenshot.losses.sparsity import kl_sparsity_penalty, l1_activation_penalty

__all__ = ["kl_sparsity_penalty", "l1_activation_penalty", "reconstruction_loss"]
