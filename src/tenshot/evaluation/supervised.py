"""The supervised baseline: the pretrained methods' encoder, trained from scratch on
the labeled subset only (what you would get without any unlabeled data).

No peeking: the number of epochs is chosen on a stratified hold-out of the labeled
subset, then the net is retrained on the whole subset for that many epochs. It never
sees test labels; it returns test predictions for the protocol to score.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from torch import nn
import torch.nn.functional as F

from tenshot.data.dataset import Dataset
from tenshot.methods.autoencoder import AutoencoderConfig
from tenshot.nn import build_encoder


@dataclass
class SupervisedSource:
    """Encoder + linear head, cross-entropy, Adam; epochs chosen on a labeled hold-out."""

    name: str = "supervised"
    encoder: AutoencoderConfig = field(default_factory=AutoencoderConfig)
    max_epochs: int = 100
    max_steps: int = 3000  # caps the budget when the labeled set is large ("all")
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 5e-4
    holdout: float = 0.2
    probes: tuple[str, ...] = ("net",)  # ignores the probe argument: the head is the probe

    def prepare(self, ds: Dataset) -> None:
        self._x_train, self._x_test = ds.x_train, ds.x_test
        self._shape, self._classes = ds.input_shape, ds.num_classes

    def _net(self) -> nn.Module:
        cfg = self.encoder
        enc = build_encoder(cfg.encoder, self._shape, cfg.latent_dim, **cfg.arch())
        return nn.Sequential(enc, nn.ReLU(), nn.Dropout(0.5), nn.Linear(cfg.latent_dim, self._classes))

    def _epochs_budget(self, n: int) -> int:
        steps_per_epoch = max(1, -(-n // self.batch_size))
        return max(1, min(self.max_epochs, self.max_steps // steps_per_epoch))

    def _train(self, x: torch.Tensor, y: torch.Tensor, epochs: int, seed: int, x_val=None, y_val=None) -> tuple[nn.Module, list[float]]:
        """Train for ``epochs``; with a validation set, also return its accuracy per epoch."""
        torch.manual_seed(seed)
        net = self._net()
        opt = torch.optim.Adam(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        gen = torch.Generator().manual_seed(seed)
        val_acc: list[float] = []
        for _ in range(epochs):
            net.train()
            for idx in torch.randperm(len(x), generator=gen).split(self.batch_size):
                loss = F.cross_entropy(net(x[idx]), y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            if x_val is not None:
                val_acc.append(float((self._predict(net, x_val) == y_val).float().mean()))
        return net, val_acc

    @torch.no_grad()
    def _predict(self, net: nn.Module, x: torch.Tensor) -> torch.Tensor:
        net.eval()
        return torch.cat([net(x[i : i + 1024]).argmax(1) for i in range(0, len(x), 1024)])

    def predict(self, train_idx: np.ndarray, y_labeled: np.ndarray, probe: str, seed: int) -> tuple[np.ndarray, dict]:
        x = self._x_train[torch.as_tensor(train_idx)]
        y = torch.as_tensor(np.asarray(y_labeled), dtype=torch.long)
        budget = self._epochs_budget(len(x))
        per_class = np.bincount(y.numpy()).min()
        if per_class >= 2:
            fit_i, val_i = train_test_split(
                np.arange(len(y)), test_size=max(self.holdout, self._classes / len(y)), stratify=y.numpy(), random_state=seed
            )
            _, acc = self._train(x[fit_i], y[fit_i], budget, seed, x[val_i], y[val_i])
            epochs = int(np.argmax(acc)) + 1  # the earliest epoch with the best hold-out accuracy
            selection = {"epochs": epochs, "holdout_accuracy": round(max(acc), 4)}
        else:  # one label per class: nothing to hold out, use half the budget
            epochs = max(1, budget // 2)
            selection = {"epochs": epochs, "note": "1 label per class: no hold-out possible, fixed epochs"}
        net, _ = self._train(x, y, epochs, seed)
        return self._predict(net, self._x_test).numpy(), selection
