"""Semi-supervised autoencoders: reconstruction of every image and classification of
the labeled ones, learned together -- the "simultaneous learning of the latent code and
the classifier" baseline (Ranzato & Szummer 2008; the M1-style VAE variant of Kingma et
al. 2014 with the classifier trained jointly instead of afterwards).

A batch is ``(x, x_labeled, y_labeled)`` (``tenshot.training.WithLabeled``): the
unsupervised loss of the base model on ``x``, plus ``classifier_weight`` times the
cross-entropy of a linear head on the labeled images' code. Only that term differs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from tenshot.config import Config, opt
from tenshot.errors import ConfigError
from tenshot.methods.base import eval_mode
from tenshot.methods.autoencoder import Autoencoder, AutoencoderConfig
from tenshot.methods.vae import VAE, VAEConfig


@dataclass
class ClassifierOptions(Config):
    n_classes: int = opt(0, "number of classes; 0 = from the labels given to fit (what `tenshot semisup` does)")
    classifier_weight: float = opt(1.0, "weight of the labeled cross-entropy against the unsupervised loss", positive=True)

    def validate(self) -> None:
        super().validate()
        if self.n_classes == 1 or self.n_classes < 0:
            raise ConfigError(f"n_classes must be >= 2 (or 0: from the labels), got {self.n_classes}")


class JointClassifier:
    """Mixin for a Method with ``code(x)`` -> (N, D): a linear head on the code, trained
    with the method's own loss; ``logits``/``predict_proba`` for the fitted classifier."""

    needs_labels = True
    # The attribute holding the linear head: "head" keeps saved ssae/ssvae runs loadable;
    # a base that already has a "head" (rotation's pretext classifier) names another.
    class_head_name = "head"

    def build_head(self, code_dim: int) -> None:
        if self.config.n_classes < 2:  # type: ignore[attr-defined]
            raise ConfigError("n_classes is not set: fit through SemiSupervisedClassifier, which sets it from the labels")
        setattr(self, self.class_head_name, nn.Linear(code_dim, self.config.n_classes))  # type: ignore[attr-defined]

    def class_logits(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(self, self.class_head_name)(self.code(x))

    def losses(self, x: torch.Tensor, x_labeled: torch.Tensor | None = None, y_labeled: torch.Tensor | None = None):
        terms = super().losses(x)  # type: ignore[misc]
        if x_labeled is None:  # unlabeled-only batch (e.g. the engine's shape check)
            return terms
        logits = self.class_logits(x_labeled)
        ce = F.cross_entropy(logits, y_labeled)
        acc = (logits.argmax(1) == y_labeled).float().mean()
        loss = terms["loss"] + self.config.classifier_weight * ce  # type: ignore[attr-defined]
        return {**terms, "loss": loss, "classification": ce, "labeled_accuracy": acc}

    @torch.no_grad()
    def logits(self, x: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
        """Class logits (N, n_classes), in eval mode, in batches."""
        with eval_mode(self):  # type: ignore[arg-type]
            device = next(self.parameters()).device  # type: ignore[attr-defined]
            out = [self.class_logits(x[i : i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)]
        return torch.cat(out)


@dataclass
class SSAEConfig(ClassifierOptions, AutoencoderConfig):
    pass


class SemiSupervisedAE(JointClassifier, Autoencoder):
    """Semi-supervised autoencoder: reconstruction of all images + classification of the labeled ones."""

    Config = SSAEConfig

    def __init__(self, config: SSAEConfig, input_shape, train=None) -> None:
        super().__init__(config, input_shape, train)
        self.build_head(config.latent_dim)

    def code(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)


@dataclass
class SSVAEConfig(ClassifierOptions, VAEConfig):
    pass


class SemiSupervisedVAE(JointClassifier, VAE):
    """Semi-supervised VAE: the ELBO of all images + classification of the labeled ones' posterior mean."""

    Config = SSVAEConfig

    def __init__(self, config: SSVAEConfig, input_shape, train=None) -> None:
        super().__init__(config, input_shape, train)
        self.build_head(config.latent_dim)

    def code(self, x: torch.Tensor) -> torch.Tensor:
        return self.posterior(x)[0]
