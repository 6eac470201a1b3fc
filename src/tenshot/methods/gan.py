"""Generative adversarial networks: the MLP GAN (Goodfellow et al. 2014) and DCGAN
(Radford et al. 2015), with the techniques of Salimans et al. 2016 as options.

One base, ``GAN``, owns the alternating update; ``DCGAN`` only builds other networks.
Per batch: ``d_steps`` discriminator updates, then one generator update, each player with
its own Adam. Real images in [0, 1] are mapped to [-1, 1], the range of G's tanh output.
The representation (``transform``) is the discriminator's hidden activations, conv maps
max-pooled to 4x4 (Radford et al. 2015, sec. 5.1).

``rotation_loss`` > 0 makes it the self-supervised GAN of Chen et al. 2019 ("Self-Supervised
GANs via Auxiliary Rotation Loss"): D also tells which of four quarter turns a real image
got (weight beta = ``rotation_loss``), and G is rewarded when D can tell its images' turns
too (weight alpha = ``rotation_loss_g``). The pretext keeps D's features from forgetting
what real images look like while the generator moves, which is what a probe reads.

DCGAN's ``depth`` > 1 stacks 3x3 convs after each of D's stride-2 convs, as rotation's
``--depth``: what moved the rotation net's features moved D's too. On Fashion-MNIST with 10
labels per class, D at 48 channels with two 3x3 convs per block (``--width 48 --kernel 3
--depth 2 --virtual-batchnorm --rotation-loss 1``, 10 epochs, 34 min on a 2-core CPU) probes
``linear`` 76.6%, against 75.7% for the paper's one 5x5 conv at 64 channels after 20
epochs (``benchmarks/generative.json``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from tenshot.config import Config, opt
from tenshot.errors import ConfigError, TrainingError
from tenshot.losses.gan import discriminator_loss, feature_matching_loss, generator_loss
from tenshot.losses.pretext import pretext_classification
from tenshot.methods.base import Method, eval_mode
from tenshot.methods.rotation import N_ROTATIONS, rotations
from tenshot.nn.encoders import pooled_features
from tenshot.nn.gan import (
    ConvGenerator, Discriminator, Generator, HistoricalAverage, MLPGenerator,
    conv_discriminator, dcgan_init, mlp_discriminator,
)


@dataclass
class AdversarialConfig(Config):
    """How a GAN is trained (shared by gan and dcgan; the engine's --lr is not used)."""

    latent_dim: int = opt(100, "size of the noise z fed to the generator", positive=True)
    d_steps: int = opt(
        1, "discriminator updates per generator update (Goodfellow et al.'s k), on the batch's images with fresh noise",
        positive=True,
    )
    lr_d: float = opt(2e-4, "discriminator Adam learning rate; lower it first if D wins too easily", positive=True)
    lr_g: float = opt(2e-4, "generator Adam learning rate", positive=True)
    beta1: float = opt(0.5, "Adam beta1 of both players (0.5 steadies GAN training, Radford et al.)")
    feature_matching: bool = opt(False, "G matches the mean of D's last hidden layer on real data instead of fooling D")
    minibatch_discrimination: bool = opt(
        False, "D also sees how close each example is to the rest of its batch (against mode collapse)"
    )
    historical_averaging: float = opt(0.0, "weight of ||theta - mean of past theta||^2 for both players; 0 = off")
    label_smoothing: float = opt(1.0, "D's target for real images (one-sided smoothing: 0.9); 1 = off", positive=True)
    virtual_batchnorm: bool = opt(False, "G normalises with a fixed reference batch instead of each batch's statistics")
    collapse_patience: int = opt(
        200, "stop when D rejects every generated image with certainty for this many steps in a row; 0 = off"
    )
    rotation_loss: float = opt(
        0.0, "weight (beta) of D's loss for telling the quarter turn of real images: the self-supervised GAN of "
        "Chen et al. 2019 (their 1.0); square images only; 0 = off",
    )
    rotation_loss_g: float = opt(
        0.2, "with rotation_loss: weight (alpha) of that loss on G's images in G's objective (Chen et al.: 0.2; "
        "0 = D's term alone)",
    )

    def validate(self) -> None:
        super().validate()
        if self.rotation_loss < 0 or self.rotation_loss_g < 0:
            raise ConfigError(
                f"rotation_loss and rotation_loss_g must be >= 0 (1.0 and 0.2 as in Chen et al. 2019; 0 = off), "
                f"got {self.rotation_loss} and {self.rotation_loss_g}"
            )
        if not 0.0 <= self.beta1 < 1.0:
            raise ConfigError(f"beta1 must be in [0, 1), got {self.beta1}")
        if not 0.0 < self.label_smoothing <= 1.0:
            raise ConfigError(
                f"label_smoothing must be in (0, 1] (0.9 is usual, 1 turns it off), got {self.label_smoothing}"
            )
        if self.historical_averaging < 0:
            raise ConfigError(f"historical_averaging must be >= 0 (0 turns it off), got {self.historical_averaging}")
        if self.collapse_patience < 0:
            raise ConfigError(f"collapse_patience must be >= 0 (0 turns the check off), got {self.collapse_patience}")


@dataclass
class GANConfig(AdversarialConfig):
    hidden: tuple[int, ...] = opt((512, 256), "D's hidden layer sizes, e.g. 512,256; G mirrors them", positive=True)


@dataclass
class DCGANConfig(AdversarialConfig):
    width: int = opt(64, "channels of D's first conv (doubled in each next one; G mirrors D)", positive=True)
    n_blocks: int = opt(3, "stride-2 conv layers in each network", positive=True)
    kernel: int = opt(5, "conv kernel size, odd (5 as in the paper; 3 is about 3x cheaper)", positive=True)
    depth: int = opt(
        1, "convs in each of D's blocks: its stride-2 conv and depth - 1 more 3x3 convs at the same resolution "
        "(as rotation's --depth; G keeps one)", positive=True,
    )

    def validate(self) -> None:
        super().validate()
        if self.kernel % 2 == 0:
            raise ConfigError(f"kernel must be odd (the layer sizes rely on it), got {self.kernel}; use 3 or 5")


class GAN(Method):
    """Generative adversarial network with MLP players (Goodfellow et al. 2014); features = D's hidden layers."""

    Config = GANConfig
    REFERENCE_SIZE = 64  # virtual batch norm: size of G's fixed reference batch
    COLLAPSE_EPS = 1e-3  # mean D(G(z)) below this counts as a step where D rejects every sample

    def __init__(self, config: AdversarialConfig, input_shape: tuple[int, int, int], train=None) -> None:
        super().__init__(config, input_shape, train)
        self.automatic_optimization = False  # two players, two optimizers: training_step steps them
        self.generator, self.discriminator = self.build(config, self.REFERENCE_SIZE if config.virtual_batchnorm else 0)
        self.averages: nn.ModuleDict | None = None
        if config.historical_averaging:  # after build: the averages start from the initial weights
            self.averages = nn.ModuleDict({
                "d": HistoricalAverage(self.discriminator.parameters()),
                "g": HistoricalAverage(self.generator.parameters()),
            })
        self.collapsed_steps = 0
        self.rotation_head: nn.Linear | None = None
        if config.rotation_loss:
            if input_shape[1] != input_shape[2]:
                raise ConfigError(
                    f"rotation_loss needs square images (a quarter turn must keep the shape), got {input_shape[1]}x"
                    f"{input_shape[2]}; crop or pad them, or set rotation_loss 0"
                )
            # Its own linear head on D's last hidden block, beside the real/fake logit (Chen et al.).
            self.rotation_head = nn.Linear(self.discriminator.feature_dim, N_ROTATIONS)

    def build(self, config: GANConfig, reference_size: int) -> tuple[Generator, Discriminator]:
        """The two networks: the only part a variant changes."""
        g = MLPGenerator(self.input_shape, config.latent_dim, tuple(reversed(config.hidden)), reference_size)
        return g, mlp_discriminator(self.input_shape, config.hidden, config.minibatch_discrimination)

    # --- the two players' objectives ---------------------------------------------------
    def noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.config.latent_dim, device=self.device)

    def penalty(self, player: str, net: nn.Module) -> dict[str, torch.Tensor]:
        """Historical averaging for one player: {"d_history" or "g_history": weighted penalty}, or {} when off."""
        if self.averages is None:
            return {}
        return {f"{player}_history": self.config.historical_averaging * self.averages[player].penalty(net.parameters())}

    def discriminator_terms(self, real: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """real (N, C, H, W) in [-1, 1] -> (what D minimises, its terms with D(x) and D(G(z)))."""
        with torch.no_grad():  # D's step must not move G
            fake = self.generator(self.noise(len(real)))
        real_logits, _, rotation = self.discriminate(real)
        # The same mix of turns as the real batch (batch norm); D learns the turns of real
        # images only (Chen et al.), so the generated ones' rotation terms are dropped.
        fake_logits, _, _ = self.discriminate(fake)
        terms = {
            "d_loss": discriminator_loss(real_logits, fake_logits, self.config.label_smoothing),
            "d_real": torch.sigmoid(real_logits).mean(),  # D(x): 1 = sure it is real
            "d_fake": torch.sigmoid(fake_logits).mean(),  # D(G(z))
            **self.penalty("d", self.discriminator),
            **{f"d_{k}": v for k, v in rotation.items()},
        }
        objective = terms["d_loss"] + terms.get("d_history", 0.0)
        if rotation:
            objective = objective + self.config.rotation_loss * rotation["rotation_loss"]
        return objective, terms

    def discriminate(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """D on images x (N, C, H, W) in [-1, 1] -> real/fake logits (N,), last hidden block
        (N, F), and with a rotation head the rotation terms {"rotation_loss", "rotation_acc"}.

        Then the first quarter of the batch is also turned by 90, 180 and 270 degrees (a
        quarter: D's passes grow 1.75x instead of 4x) and D sees all N + 3N/4 images in one
        pass; the N as given give the logits, the quarter in its four turns the rotation
        terms. Real and generated batches go through D the same way in both players'
        steps, so D's batch norm sees the same mixture on both sides and cannot tell them
        apart by its statistics."""
        if self.rotation_head is None:
            logits, h = self.discriminator(x)
            return logits, h, {}
        n, q = len(x), max(1, len(x) // N_ROTATIONS)
        views, turns = rotations(x[:q])  # views[:q] = x[:q] unturned
        logits, h = self.discriminator(torch.cat([x, views[q:]]))
        pretext = pretext_classification(self.rotation_head(torch.cat([h[:q], h[n:]])), turns)
        return logits[:n], h[:n], {"rotation_loss": pretext["loss"], "rotation_acc": pretext["pretext_acc"]}

    def generator_terms(self, real: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """real (N, C, H, W) in [-1, 1] -> (what G minimises, its terms)."""
        fake_logits, fake_h, rotation = self.discriminate(self.generator(self.noise(len(real))))
        if not self.config.rotation_loss_g:
            rotation = {}  # alpha 0: G's objective leaves the turns out
        if self.config.feature_matching:
            with torch.no_grad():  # the real side is a fixed target for G
                _, real_h, _ = self.discriminate(real)
            g_loss = feature_matching_loss(real_h, fake_h)
        else:
            g_loss = generator_loss(fake_logits)
        terms = {"g_loss": g_loss, **self.penalty("g", self.generator), **{f"g_{k}": v for k, v in rotation.items()}}
        objective = g_loss + terms.get("g_history", 0.0)
        if rotation:
            objective = objective + self.config.rotation_loss_g * rotation["rotation_loss"]
        return objective, terms

    def losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Both players' terms on images x (N, C, H, W) in [0, 1], without a step (the
        engine's first-batch check). "loss" = D's + G's loss: a monitor, not an objective."""
        real = x * 2 - 1
        terms = {**self.discriminator_terms(real)[1], **self.generator_terms(real)[1]}
        return {"loss": terms["d_loss"] + terms["g_loss"], **terms}

    # --- the alternating update ----------------------------------------------------------
    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        betas = (self.config.beta1, 0.999)
        return [
            torch.optim.Adam(self.discriminator_parameters(), lr=self.config.lr_d, betas=betas),
            torch.optim.Adam(self.generator.parameters(), lr=self.config.lr_g, betas=betas),
        ]

    def discriminator_parameters(self) -> list[nn.Parameter]:
        """What D's optimizer moves: D, and its rotation head when there is one."""
        head = list(self.rotation_head.parameters()) if self.rotation_head is not None else []
        return [*self.discriminator.parameters(), *head]

    def step(self, optimizer, loss: torch.Tensor, player: str, net: nn.Module) -> None:
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        optimizer.step()
        if self.averages is not None:
            self.averages[player].update(net.parameters())

    def training_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> dict[str, torch.Tensor]:
        real = batch[0] * 2 - 1
        opt_d, opt_g = self.optimizers()
        for _ in range(self.config.d_steps):
            d_objective, d_terms = self.discriminator_terms(real)
            self.step(opt_d, d_objective, "d", self.discriminator)
            self.check_collapse(d_terms)
        g_objective, g_terms = self.generator_terms(real)
        self.step(opt_g, g_objective, "g", self.generator)
        terms = {k: v.detach() for k, v in {**d_terms, **g_terms}.items()}
        terms = {"loss": terms["d_loss"] + terms["g_loss"], **terms}
        self.log_terms(terms)
        return terms  # the engine's NaN guard checks every entry

    def check_collapse(self, d_terms: dict[str, torch.Tensor]) -> None:
        """Count steps on which D is certain of both sides; ``collapse_patience`` in a row is an error."""
        patience = self.config.collapse_patience
        if not patience:
            return
        certain = d_terms["d_fake"].item() < self.COLLAPSE_EPS and d_terms["d_real"].item() > 0.5
        self.collapsed_steps = self.collapsed_steps + 1 if certain else 0
        if self.collapsed_steps >= patience:
            saver = getattr(self._trainer, "checkpoint_callback", None)  # a run folder's checkpoints, if any
            kept = f"; the last good checkpoint is kept in {saver.dirpath}" if saver is not None else ""
            raise TrainingError(
                f"the discriminator collapsed at epoch {self.current_epoch + 1}: for {patience} steps in a row "
                f"it rejected every generated image with certainty (mean D(G(z)) < {self.COLLAPSE_EPS}, now "
                f"{d_terms['d_fake'].item():.1e}), so the generator no longer learns{kept}. Try a lower lr_d, "
                "label_smoothing=0.9, feature_matching, fewer d_steps or a smaller discriminator "
                "(collapse_patience=0 turns this check off)"
            )

    # --- representation and samples -------------------------------------------------------
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images (N, C, H, W) in [0, 1] -> D's hidden activations, maps max-pooled to 4x4, concatenated."""
        return pooled_features(self.discriminator.features(x * 2 - 1))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """G(z) for z ~ N(0, I), in eval mode -> (n, C, H, W) in [0, 1]."""
        with eval_mode(self):
            z = torch.randn(n, self.config.latent_dim, generator=generator)  # on CPU: generators are per device
            return ((self.generator(z.to(self.device)) + 1) / 2).clamp(0, 1).cpu()


class DCGAN(GAN):
    """Deep convolutional GAN (Radford et al. 2015); features = D's conv maps max-pooled to 4x4."""

    Config = DCGANConfig

    def build(self, config: DCGANConfig, reference_size: int) -> tuple[Generator, Discriminator]:
        arch = dict(width=config.width, n_blocks=config.n_blocks, kernel=config.kernel)
        g = ConvGenerator(self.input_shape, config.latent_dim, reference_size=reference_size, **arch)
        d = conv_discriminator(
            self.input_shape, minibatch_discrimination=config.minibatch_discrimination, depth=config.depth, **arch
        )
        g.apply(dcgan_init)
        d.apply(dcgan_init)
        return g, d
