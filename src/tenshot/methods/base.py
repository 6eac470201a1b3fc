"""The small base every method stands on.

A method is a LightningModule that owns *what* is learned and its update rule
(``losses``, or ``training_step`` for methods with several optimizers); the engine
(``tenshot.training``) owns the loop, devices, checkpoints and logging.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar

import lightning as L
import torch

from tenshot.config import Config, TrainConfig
from tenshot.errors import ConfigError


@contextmanager
def eval_mode(module: torch.nn.Module) -> Iterator[None]:
    """Evaluate ``module`` (dropout off, batch-norm statistics frozen), then restore its mode."""
    was_training = module.training
    module.eval()
    try:
        yield
    finally:
        module.train(was_training)


class Method(L.LightningModule):
    """Base of all representation learners.

    Subclasses set ``Config`` and implement ``losses`` (a dict of scalar tensors with a
    ``"loss"`` entry, the one that is minimised) and ``encode`` (images -> features).
    """

    Config: ClassVar[type[Config]]

    def __init__(self, config: Config, input_shape: tuple[int, int, int], train: TrainConfig | None = None) -> None:
        super().__init__()
        self.config = config
        self.input_shape = tuple(int(s) for s in input_shape)
        self.train_config = train or TrainConfig()

    # --- what a method defines -------------------------------------------------------
    def losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images (N, C, H, W) -> features (N, D) for probes; called in eval mode, no grad."""
        raise NotImplementedError

    # --- optional: generative methods -------------------------------------------------
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` new images (n, C, H, W) in [0, 1]. Generative methods override this."""
        raise ConfigError(f"{type(self).__name__} is not a generative model: it cannot sample images")

    def test_metrics(self, x: torch.Tensor) -> dict[str, float]:
        """Held-out metrics written to metrics.json after pretraining (e.g. a VAE's test
        ELBO); ``x`` are test images (N, C, H, W). Default: none."""
        return {}

    def check_data(self, n_images: int) -> None:
        """Raise ConfigError if the method cannot train on ``n_images`` images; called before
        any run folder is written or any step taken. Default: any number will do."""

    def total_epochs(self, epochs: int) -> int:
        """How many epochs ``--epochs N`` means in all (greedy methods train per layer)."""
        return epochs

    # --- Lightning hooks ---------------------------------------------------------------
    def training_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> torch.Tensor:
        terms = self.losses(*batch)  # (x,), or (x, x_labeled, y_labeled) for semi-supervised methods
        self.log_terms(terms)
        return terms["loss"]

    def log_terms(self, terms: dict[str, torch.Tensor], prefix: str = "train") -> None:
        self.log_dict(
            {f"{prefix}/{k}": v.detach() for k, v in terms.items()},
            on_step=False, on_epoch=True, prog_bar=False,
        )
        self.log(f"{prefix}_loss", terms["loss"].detach(), on_step=True, on_epoch=False, prog_bar=True, logger=False)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.train_config.lr, weight_decay=self.train_config.weight_decay)

    @torch.no_grad()
    def features(self, x: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
        """``encode`` over a large tensor in batches, in eval mode, on the module's device."""
        out = torch.empty(0)
        with eval_mode(self):
            device = next(self.parameters()).device
            for i in range(0, len(x), batch_size):
                z = self.encode(x[i : i + batch_size].to(device)).float().cpu()
                if i == 0:
                    # filled in place: a list of batches and a cat would hold every feature
                    # twice at the peak (60k x 14336 floats are 3.4 GB)
                    out = torch.empty((len(x), *z.shape[1:]))
                out[i : i + len(z)] = z
        return out


#: Held-out pretext accuracy is measured on at most this many test images: a +-1% estimate
#: that adds no noticeable time to a run.
PRETEXT_TEST_IMAGES = 2000


@torch.no_grad()
def held_out_pretext_accuracy(method: Method, x: torch.Tensor, batch_size: int) -> dict[str, float]:
    """``method``'s mean ``pretext_acc`` on held-out images (the first
    ``PRETEXT_TEST_IMAGES``), in eval mode: a pretext task solved only by memorising the
    training images shows here. Seeded without disturbing the run's random stream, so random
    pretext questions (views, patch positions) are the same in every run."""
    x = x[:PRETEXT_TEST_IMAGES]
    if len(x) == 0:
        return {}
    device = next(method.parameters()).device
    right = 0.0
    with eval_mode(method), torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(0)
        for i in range(0, len(x), batch_size):
            batch = x[i : i + batch_size].to(device)
            right += float(method.losses(batch)["pretext_acc"]) * len(batch)
    return {"test_pretext_acc": right / len(x)}
