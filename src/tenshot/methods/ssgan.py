"""Semi-supervised GAN with a K+1-class discriminator (Salimans et al. 2016, "Improved
Techniques for Training GANs", sec. 5).

The discriminator is the classifier: K logits for the real classes, the logit of class
K+1 ("generated") fixed at 0, so logsumexp of the K logits is its real/fake logit
(``tenshot.losses.semisup_gan``). Per batch ``(x, x_labeled, y_labeled)``:
  1. D step: cross-entropy on the labeled images + half the GAN loss on the unlabeled and
     generated ones (``unsupervised_weight`` 0.5: the authors' code halves it);
  2. G step: feature matching on D's last hidden layer (the paper's choice for
     semi-supervised use: matching statistics, not fooling D, gives the better classifier);
  3. an exponential moving average (EMA) of D's weights is updated: it, not the live D,
     classifies (``logits``) and gives the features (``encode``), as in the authors' code.
Optionally (``manifold_weight`` > 0) D's step also penalises the change of its logits
between G(z) and G(z + eps r/||r||), a neighbour on G's manifold (Lecouat et al. 2018,
"Semi-supervised learning with GANs: revisiting manifold regularization"), so the
classifier is smooth along the data manifold that G has learned. Optionally
(``consistency_weight`` > 0) D's step also pulls D's class distribution on each unlabeled
image towards the EMA's on the same image under other noise draws (Mean Teacher,
Tarvainen & Valpola 2017): the averaged D is there already, so the term costs one more
forward pass of the unlabeled batch. The paper's D is the ladder network's MLP, built for
exactly this kind of noise-consistency training; yet on Fashion-MNIST, 10 labels per class,
the term lowered accuracy (weight 1: 71.2, 10: 68.3, against 73.5 off; 16 epochs, 3 dev
splits, ``benchmarks/semisup_dev.json``), so it is off by default. Optionally
(``augment``) every batch D sees in either player's step -- unlabeled, generated and
labeled -- is randomly flipped (and shifted) first, as DiffAugment does (Zhao et al.
2020), so D cannot tell fakes by the augmentation and the 100 labels are seen in more
poses; on the same dev protocol flips scored 72.1 and flips with shifts 68.7 (against
73.5), so it is off by default too. Optionally (``views``) the data are feature rows with several
views of each example -- ``tenshot features RUN --views flip`` writes the features of each
image and of its mirror image -- and D sees one view of each real example, drawn at
random, and classifies by averaging its class probabilities over the views. On rotation
features (width 48, a range per feature; 16 epochs, dev splits 0 / 1) that scored 76.9 /
80.0 with one view read at test time and 76.9 / 79.6 with both, against 75.9 / 80.5 for the
recipe on the same host: within the spread between splits, so it is off by default.

Defaults for 28x28 gray images are the paper's MNIST setup: D = 784-1000-500-250-250-250-K
with weight normalisation (data-initialised), ReLU and Gaussian noise (0.3 on the input, 0.5
on the hidden layers); G = z(100)-500-500-784 with z ~ U(0, 1), batch norm, softplus and a sigmoid
output; Adam with lr 0.003, beta1 0.5 for both players. (The code averages D with decay
0.9999 over its 300 epochs; the 0.999 here, with a warm-up, suits runs of tens of
epochs: on rotation features, a constant 0.9995 or a uniform average over the last third
of the steps scored below it on two dev splits, and the live D, though +0.3 / +0.4 above
it there, scored 0.13 below it on average on the test split over nine saved runs.) The
paper's batch size is 100: pass ``--batch-size 100`` (``batch_size=100`` in Python); the
engine's ``--lr`` is not used.
Vectors (an npz of feature rows) get the same MLP; other image sizes and RGB get a conv
variant of the paper's CIFAR-10 networks.
The authors' code also keeps the weight-norm scales of D's hidden layers at their
data-init values (``train_hidden_scales=False``); on Fashion-MNIST, 10 labels per class,
that scored 75.9 against 77.5 with trained scales (90 epochs, split 0), so they train by
default.
The paper also reports ensembles of 10 of its models: ``tenshot semisup --members N``
(``SemiSupervisedEnsemble``) trains N on the same labels with consecutive seeds and
averages their class probabilities. On rotation features, two 24-epoch members side by
side scored 79.5 against their mean of 79.1 (``benchmarks/semisup.json``).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import weight_norm
from torch.optim.swa_utils import AveragedModel

from tenshot.config import opt
from tenshot.errors import ConfigError
from tenshot.losses.gan import feature_matching_loss
from tenshot.losses.semisup_gan import (
    consistency_loss,
    manifold_penalty,
    real_logit,
    supervised_loss,
    unsupervised_loss,
)
from tenshot.methods.base import Method, eval_mode
from tenshot.methods.ssae import ClassifierOptions, JointClassifier
from tenshot.nn.augment import flip_and_shift
from tenshot.nn.gan import ConvGenerator, Generator, MinibatchDiscrimination

PAPER_SHAPE = (1, 28, 28)  # the MNIST setup of the paper, used as is for this shape


@dataclass
class SSGANConfig(ClassifierOptions):
    architecture: Literal["auto", "mlp", "conv"] = opt(
        "auto",
        "auto = the paper's MLP for 28x28 gray images and for vectors (npz rows of features), conv for other "
        "image sizes and RGB",
    )
    hidden: tuple[int, ...] = opt(
        (1000, 500, 250, 250, 250), "mlp: D's hidden layer sizes (the paper's)", positive=True
    )
    g_hidden: tuple[int, ...] = opt((500, 500), "mlp: G's hidden layer sizes (the paper's)", positive=True)
    width: int = opt(64, "conv: channels of D's first stage, doubled in each next one; G mirrors D", positive=True)
    n_blocks: int = opt(2, "conv: stride-2 stages in each network", positive=True)
    latent_dim: int = opt(100, "size of the noise z ~ U(0, 1) fed to the generator", positive=True)
    unsupervised_weight: float = opt(
        0.5, "weight of the unsupervised GAN loss; the authors' code halves it (sup + 0.5 unsup)", positive=True
    )
    input_noise: float = opt(0.3, "std of the Gaussian noise on D's input while training (0 = off)")
    hidden_noise: float = opt(0.5, "std of the Gaussian noise on D's hidden layers while training (0 = off)")
    minibatch_discrimination: bool = opt(
        False, "D also compares each example with its batch; better samples, but the paper finds a worse classifier"
    )
    ema_decay: float = opt(
        0.999, "decay of the moving average of D's weights that classifies and gives features (0 = the live D)"
    )
    data_init: bool = opt(True, "set D's weight-norm scales and biases from the first batch (Salimans & Kingma 2016)")
    train_hidden_scales: bool = opt(
        True, "train the weight-norm scales g of D's hidden layers (false = the authors' code: fixed after the data init)"
    )
    lr_d: float = opt(0.003, "discriminator (classifier) Adam learning rate", positive=True)
    lr_g: float = opt(0.003, "generator Adam learning rate", positive=True)
    beta1: float = opt(0.5, "Adam beta1 of both players")
    manifold_weight: float = opt(
        0.0, "weight of the manifold regulariser (Lecouat et al. 2018) in D's loss (0 = off, the paper's ssgan)"
    )
    manifold_step: float = opt(
        1.0, "manifold regulariser: distance eps that z moves, in a random direction, to G's neighbouring image",
        positive=True,
    )
    manifold_shared_noise: bool = opt(
        True,
        "manifold regulariser: D's noise is drawn once per pair, so the term measures D's change along G's "
        "manifold alone (false = independent draws, as in the authors' code, which then also penalise "
        "D's response to its own noise)",
    )
    consistency_weight: float = opt(
        0.0,
        "weight of the Mean Teacher term (Tarvainen & Valpola 2017) in D's loss: squared distance between D's "
        "and the EMA's class probabilities on each unlabeled image, under independent noise (0 = off, the paper's ssgan)",
    )
    consistency_rampup: float = opt(
        0.1,
        "fraction of training over which the consistency weight rises from 0 along exp(-5 (1 - t)^2), "
        "so the term waits for a teacher worth copying (0 = full weight from the first step)",
    )
    augment: Literal["none", "flip", "flip-shift"] = opt(
        "none",
        "DiffAugment (Zhao et al. 2020): the same kind of random flips (and shifts) of every image D sees, "
        "real and generated alike, in both players' steps, so D cannot tell fakes by the augmentation "
        "(not for data whose mirror image is another class, e.g. digits)",
    )
    views: bool = opt(
        False,
        "vectors whose channels are views of one example (`tenshot features --views flip`: the features of "
        "the image and of its mirror image): each real example D sees in training is one of its views, drawn "
        "at random (a flip augmentation in feature space), G makes one view, and D classifies an example by "
        "its class probabilities averaged over the views",
    )
    lr_decay_start: float = opt(
        1.0,
        "fraction of training after which both learning rates fall linearly to 0 at the last step "
        "(1 = constant, the authors' MNIST code; 2/3 = their CIFAR-10 and SVHN code)",
    )

    def validate(self) -> None:
        super().validate()
        if self.input_noise < 0 or self.hidden_noise < 0:
            raise ConfigError(f"noise stds must be >= 0 (0 = off), got {self.input_noise} and {self.hidden_noise}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ConfigError(f"ema_decay must be in [0, 1) (0.999 is usual, 0 = no averaging), got {self.ema_decay}")
        if not 0.0 <= self.beta1 < 1.0:
            raise ConfigError(f"beta1 must be in [0, 1), got {self.beta1}")
        if self.manifold_weight < 0:
            raise ConfigError(f"manifold_weight must be >= 0 (0 = off), got {self.manifold_weight}")
        if self.manifold_weight > 0 and self.manifold_shared_noise and self.minibatch_discrimination:
            raise ConfigError(
                "manifold_shared_noise needs D's one pass over all batches, which minibatch discrimination "
                "rules out: pass --no-manifold-shared-noise or drop --minibatch-discrimination"
            )
        if self.consistency_weight < 0:
            raise ConfigError(f"consistency_weight must be >= 0 (0 = off), got {self.consistency_weight}")
        if self.consistency_weight > 0 and self.ema_decay == 0:
            raise ConfigError(
                "consistency_weight needs a teacher: the EMA of D, which ema_decay 0 turns off; "
                "set --ema-decay (0.999 is usual) or drop --consistency-weight"
            )
        if not 0.0 <= self.consistency_rampup <= 1.0:
            raise ConfigError(
                f"consistency_rampup must be in [0, 1] (a fraction of training), got {self.consistency_rampup}"
            )
        if self.augment != "none" and self.manifold_weight > 0:
            raise ConfigError(
                "augment and the manifold regulariser do not combine (a fake and its neighbour would be "
                "augmented apart): drop --augment or --manifold-weight"
            )
        if not 0.0 <= self.lr_decay_start <= 1.0:
            raise ConfigError(
                f"lr_decay_start must be in [0, 1] (1 = a constant learning rate), got {self.lr_decay_start}"
            )


# --- building blocks ------------------------------------------------------------------
class GaussianNoise(nn.Module):
    """x + std * N(0, I) in training mode, the identity in eval mode. (N, ...) -> (N, ...)

    ``tie`` = (source rows, target rows), set by ``tied_noise``: the target rows get the
    source rows' draws, so two inputs that should be compared see the same noise."""

    def __init__(self, std: float) -> None:
        super().__init__()
        self.std = std
        self.tie: tuple[slice, slice] | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and self.std > 0):
            return x
        eps = torch.randn_like(x)
        if self.tie is not None:
            source, target = self.tie
            eps[target] = eps[source]
        return x + self.std * eps

    def extra_repr(self) -> str:
        return f"std={self.std}"


class ClassDiscriminator(nn.Module):
    """``body``: images (N, C, H, W) in [0, 1] -> last hidden layer h (N, F); ``head``:
    noise -> [minibatch discrimination] -> weight-normed linear -> K class logits."""

    def __init__(self, body: nn.Module, feature_dim: int, n_classes: int, noise: float, minibatch: bool) -> None:
        super().__init__()
        self.body = body
        layers: list[nn.Module] = [GaussianNoise(noise)]
        if minibatch:
            layers.append(MinibatchDiscrimination(feature_dim))
            feature_dim = layers[-1].out_features
        layers.append(weight_norm(nn.Linear(feature_dim, n_classes)))
        self.head = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (N, C, H, W) -> class logits (N, K), last hidden layer (N, F)."""
        h = self.body(x)
        return self.head(h), h


@contextlib.contextmanager
def tied_noise(net: nn.Module, source: slice, target: slice) -> Iterator[None]:
    """Within the block, every ``GaussianNoise`` of ``net`` gives rows ``target`` of its
    input the draws of rows ``source`` (slices of equal length)."""
    layers = [m for m in net.modules() if isinstance(m, GaussianNoise)]
    for layer in layers:
        layer.tie = (source, target)
    try:
        yield
    finally:
        for layer in layers:
            layer.tie = None


def mlp_body(in_shape: tuple[int, ...], hidden: tuple[int, ...], input_noise: float, noise: float) -> nn.Sequential:
    """The paper's MNIST discriminator up to its last hidden layer: flatten -> noise(input)
    -> [weight-normed linear -> ReLU], noise(hidden) between hidden layers."""
    dims = [math.prod(in_shape), *hidden]
    layers: list[nn.Module] = [nn.Flatten(), GaussianNoise(input_noise)]
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        layers += [GaussianNoise(noise)] if i else []
        layers += [weight_norm(nn.Linear(a, b)), nn.ReLU()]
    return nn.Sequential(*layers)


def conv_body(in_shape: tuple[int, ...], width: int, n_blocks: int, input_noise: float, noise: float) -> nn.Sequential:
    """The paper's CIFAR-10 discriminator, scaled by ``width`` and ``n_blocks``: noise on
    the input; per stage a 3x3 conv and a stride-2 3x3 conv (weight-normed, LeakyReLU 0.2),
    then noise; a 1x1 conv ("network in network") and global mean pooling -> (N, C_last).
    Any image size works: the pooling removes the spatial dimensions."""
    act = partial(nn.LeakyReLU, 0.2)
    channels = [in_shape[0]] + [width * 2**i for i in range(n_blocks)]
    layers: list[nn.Module] = [GaussianNoise(input_noise)]
    for a, b in zip(channels[:-1], channels[1:]):
        layers += [weight_norm(nn.Conv2d(a, b, 3, padding=1)), act()]
        layers += [weight_norm(nn.Conv2d(b, b, 3, stride=2, padding=1)), act(), GaussianNoise(noise)]
    c = channels[-1]
    layers += [weight_norm(nn.Conv2d(c, c, 1)), act(), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return nn.Sequential(*layers)


class SoftplusGenerator(Generator):
    """The paper's MNIST generator: z -> [linear -> batch norm -> softplus] * len(hidden)
    -> weight-normed linear -> sigmoid -> (C, H, W) in [0, 1]."""

    def __init__(self, out_shape: tuple[int, ...], latent_dim: int, hidden: tuple[int, ...]) -> None:
        super().__init__(latent_dim)
        dims = [latent_dim, *hidden]
        layers: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:]):
            layers += [nn.Linear(a, b), self.norm(b, 1), nn.Softplus()]
        layers += [weight_norm(nn.Linear(dims[-1], math.prod(out_shape))), nn.Sigmoid()]
        layers.append(nn.Unflatten(1, tuple(out_shape)))
        self.net = nn.Sequential(*layers)


class UnitRange(nn.Module):
    """[-1, 1] (a tanh generator's range) -> [0, 1], the range of the data."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x + 1) / 2


def weight_normed(net: nn.Module) -> list[nn.Module]:
    """The layers of ``net`` whose weight is g * v / ||v||, in forward (definition) order."""
    return [m for m in net.modules() if parametrize.is_parametrized(m, "weight")]


@torch.no_grad()
def init_from_data(net: nn.Module, x: torch.Tensor) -> None:
    """Data-dependent init of weight normalisation (Salimans & Kingma 2016, sec. 3.2):
    layer by layer, in forward order, scale g and bias b are set so that the layer's
    pre-activations on batch ``x`` have mean 0 and variance 1 per unit."""
    for layer in weight_normed(net):
        g = layer.parametrizations.weight.original0  # weight = g * v / ||v||
        g.fill_(1.0)
        layer.bias.zero_()
        seen: list[torch.Tensor] = []
        handle = layer.register_forward_hook(lambda _m, _i, out: seen.append(out))
        net(x)
        handle.remove()
        dims = [0, *range(2, seen[0].dim())]  # over the batch (and positions)
        mean, var = seen[0].mean(dims), seen[0].var(dims, unbiased=False)
        scale = torch.rsqrt(var + 1e-6)
        g.copy_(scale.view_as(g))
        layer.bias.copy_(-mean * scale)


def fix_hidden_scales(d: ClassDiscriminator) -> None:
    """Freeze the weight-norm scales g of D's hidden layers, as the authors' code does
    (``train_scale=False`` / ``train_g=False`` everywhere but the output layer): the data
    init sets them, then only the directions v and the biases train. Each hidden unit's
    weight vector keeps its norm, a constraint on D that the trained output scale does
    not lift."""
    for layer in weight_normed(d.body):
        layer.parametrizations.weight.original0.requires_grad_(False)


def ema_update(average: torch.Tensor, current: torch.Tensor, n_averaged: torch.Tensor, decay: float) -> torch.Tensor:
    """One EMA step, with warm-up: after t updates the decay is min(decay, (1 + t) / (10 + t)),
    so short runs average their recent past instead of their random start."""
    d = torch.clamp((1 + n_averaged) / (10 + n_averaged), max=decay)
    return average + (1 - d) * (current - average)


def linear_decay(step: int, total: int, start: float) -> float:
    """Learning-rate factor at ``step`` of ``total``: 1 until the fraction ``start`` of
    training, then linearly down to 0 at the end. The authors' CIFAR-10 code,
    lr * min(3 - epoch / 400, 1) over 1200 epochs, is start = 2/3; start = 1 is constant."""
    if start >= 1.0:
        return 1.0
    return min(1.0, max(0.0, (1.0 - step / total) / (1.0 - start)))


def sigmoid_rampup(step: int, total: int, length: float) -> float:
    """Weight factor at ``step`` of ``total``: exp(-5 (1 - t)^2) with t = step / (length *
    total), then 1 from t = 1 on (Laine & Aila 2017; Tarvainen & Valpola 2017). length 0 = 1."""
    span = length * total
    if span <= 0 or step >= span:
        return 1.0
    return math.exp(-5.0 * (1.0 - max(step, 0) / span) ** 2)


class RandomFlip(nn.Module):
    """Each image (N, C, H, W) mirrored left-right with probability 1/2. Differentiable (an
    index op), so G's loss reaches G through it; kornia's flip would do the same with more
    machinery per call."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flip = torch.rand(len(x), 1, 1, 1, device=x.device) < 0.5
        return torch.where(flip, x.flip(-1), x)


def d_augmentation(kind: str, input_shape: tuple[int, ...]) -> nn.Module | None:
    """What ``augment`` applies to every batch D sees while training: nothing, flips, or
    flips and shifts of up to 1/8 of the side (kornia, reflect-padded)."""
    if kind == "none":
        return None
    return RandomFlip() if kind == "flip" else flip_and_shift(tuple(input_shape[1:]), True)


def check_views(input_shape: tuple[int, ...]) -> int:
    """The number of views V of vectors shaped (V, 1, D), as ``tenshot features --views``
    writes them; a clear error for other data."""
    if len(input_shape) != 3 or input_shape[0] < 2 or input_shape[1] != 1:
        raise ConfigError(
            f"views needs feature rows with several views, shape (V, 1, D) with V >= 2; this data has shape "
            f"{tuple(input_shape)}: write it with `tenshot features RUN --views flip`, or drop --views"
        )
    return int(input_shape[0])


def trainable(net: nn.Module) -> list[nn.Parameter]:
    """The parameters an optimizer should own: not the fixed scales."""
    return [p for p in net.parameters() if p.requires_grad]


def resolve_architecture(choice: str, input_shape: tuple[int, ...]) -> str:
    """``auto``: the paper's MLP for its 28x28 gray images and for vectors (1, 1, D), rows
    of features with no image layout for a conv to use; conv for other images."""
    if choice != "auto":
        return choice
    return "mlp" if tuple(input_shape) == PAPER_SHAPE or tuple(input_shape[:2]) == (1, 1) else "conv"


# --- the method --------------------------------------------------------------------------
class SSGAN(JointClassifier, Method):
    """Semi-supervised GAN with a K+1-class discriminator (Salimans et al. 2016); features = D's last hidden layer."""

    Config = SSGANConfig

    def __init__(self, config: SSGANConfig, input_shape: tuple[int, int, int], train=None) -> None:
        super().__init__(config, input_shape, train)
        if config.n_classes < 2:
            raise ConfigError(
                "n_classes is not set: fit through SemiSupervisedClassifier, which sets it from the labels"
            )
        self.automatic_optimization = False  # two players, two optimizers: training_step steps them
        self.n_views = check_views(self.input_shape) if config.views else 1
        # What D reads and G makes: one view of an example.
        self.net_shape = (1, *self.input_shape[1:]) if config.views else tuple(self.input_shape)
        self.architecture = resolve_architecture(config.architecture, self.net_shape)
        self.augmentation = d_augmentation(config.augment, self.net_shape)  # holds no weights
        self.generator, self.discriminator = self.build(config)
        if not config.train_hidden_scales:
            fix_hidden_scales(self.discriminator)
        # A submodule, so checkpoints and model.safetensors hold the averaged weights too.
        self.ema = AveragedModel(self.discriminator, avg_fn=partial(ema_update, decay=config.ema_decay))
        self.ema.requires_grad_(False)

    def build(self, config: SSGANConfig) -> tuple[nn.Module, ClassDiscriminator]:
        """G (z -> images in [0, 1]) and D (images -> K logits, last hidden layer)."""
        noise = (config.input_noise, config.hidden_noise)
        if self.architecture == "mlp":
            body, feature_dim = mlp_body(self.net_shape, config.hidden, *noise), config.hidden[-1]
            g: nn.Module = SoftplusGenerator(self.net_shape, config.latent_dim, config.g_hidden)
        else:
            arch = (config.width, config.n_blocks)
            body, feature_dim = conv_body(self.net_shape, *arch, *noise), config.width * 2 ** (config.n_blocks - 1)
            g = nn.Sequential(ConvGenerator(self.net_shape, config.latent_dim, *arch), UnitRange())
        d = ClassDiscriminator(
            body, feature_dim, config.n_classes, config.hidden_noise, config.minibatch_discrimination
        )
        return g, d

    # --- the two players' objectives ---------------------------------------------------
    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """z ~ U(0, 1)^latent_dim, as in the authors' code; >= 2 rows for G's batch norm."""
        shape = (max(n, 2), self.config.latent_dim)
        if generator is None:  # training: drawn where the model is
            return torch.rand(shape, device=self.device)
        return torch.rand(shape, generator=generator).to(self.device)  # a seeded sampler's generator is on the CPU

    def fakes(self, n: int) -> list[torch.Tensor]:
        """[G(z)] for n noise draws, without gradients (D's step must not move G); with the
        manifold regulariser also G(z + eps r / ||r||), r ~ N(0, I), made in the same pass
        so that G's batch norm treats both alike."""
        with torch.no_grad():
            z = self.noise(n)
            if self.config.manifold_weight == 0:
                return [self.generator(z)]
            near = z + self.config.manifold_step * F.normalize(torch.randn_like(z), dim=1)
            return list(self.generator(torch.cat([z, near])).split(len(z)))

    def discriminator_terms(self, x: torch.Tensor, x_labeled=None, y_labeled=None) -> dict[str, torch.Tensor]:
        """D's loss ("loss") on unlabeled x and, when given, the labeled batch; all (N, C, H, W) in [0, 1]."""
        fake, *near = self.fakes(len(x))
        labeled_batch = [] if x_labeled is None else [x_labeled]
        (unl_logits, _), (fake_logits, _), *rest = self.discriminate(
            x, fake, *near, *labeled_batch, tie=(1, 2) if near and self.config.manifold_shared_noise else None
        )
        terms = {
            "d_unsupervised": unsupervised_loss(unl_logits, fake_logits),
            "d_real": torch.sigmoid(real_logit(unl_logits)).mean(),  # D(x) = Z / (Z + 1)
            "d_fake": torch.sigmoid(real_logit(fake_logits)).mean(),  # D(G(z))
        }
        loss = self.config.unsupervised_weight * terms["d_unsupervised"]
        if near:
            (near_logits, _), *rest = rest
            terms["d_manifold"] = manifold_penalty(fake_logits, near_logits)
            loss = loss + self.config.manifold_weight * terms["d_manifold"]
        if self.config.consistency_weight > 0:
            terms["d_consistency"] = consistency_loss(unl_logits, self.teacher_logits(x))
            loss = loss + self.consistency_weight_now() * terms["d_consistency"]
        if x_labeled is None:  # an unlabeled-only batch
            return {"loss": loss, **terms}
        ((lab_logits, _),) = rest
        sup = supervised_loss(lab_logits, y_labeled)
        accuracy = (lab_logits.argmax(1) == y_labeled).float().mean()
        loss = self.config.classifier_weight * sup + loss
        return {"loss": loss, "d_supervised": sup, **terms, "labeled_accuracy": accuracy}

    @torch.no_grad()
    def teacher_logits(self, x: torch.Tensor) -> torch.Tensor:
        """The EMA of D's class logits on x (N, K), in D's mode: while training, with noise
        drawn independently of the student's, as Mean Teacher wants."""
        logits, _ = self.ema.module(x)
        return logits.float()

    def consistency_weight_now(self) -> float:
        """consistency_weight times the ramp-up factor at this step (full weight outside a fit).
        The step is the EMA's update count: one per batch, and restored on --resume."""
        if self._trainer is None:
            return self.config.consistency_weight
        total = int(self.trainer.estimated_stepping_batches)
        step = int(self.ema.n_averaged.item())
        return self.config.consistency_weight * sigmoid_rampup(step, total, self.config.consistency_rampup)

    def generator_terms(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Feature matching: G's images must have the mean of D's last hidden layer on real x."""
        (_, fake_h), (_, real_h) = self.discriminate(self.generator(self.noise(len(x))), x)
        # The real side is a fixed target for G.
        return {"g_loss": feature_matching_loss(real_h.detach(), fake_h)}

    def discriminate(
        self, *batches: torch.Tensor, tie: tuple[int, int] | None = None
    ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """D on each batch -> [(class logits, last hidden layer)], one pair per batch;
        ``tie`` = (i, j): batch j sees the noise draws of batch i (same sizes).

        D has no batch statistics (its noise is drawn per element), so one pass over the
        concatenated batches gives what a pass per batch would, in less time (with fused
        Adam, 1.2x on 2 CPU cores, ``benchmarks/ssgan_step.py``): larger matrix products, and each weight-normed weight g * v / ||v|| is built
        and differentiated once instead of once per batch (``parametrize.cached``).
        Minibatch discrimination compares each example with the others in its batch, so
        with it every batch keeps a pass of its own (still sharing the cached weights)."""
        if self.augmentation is not None and self.training:
            batches = tuple(self.augmentation(b) for b in batches)
        sizes = [len(b) for b in batches]
        with parametrize.cached():
            if self.config.minibatch_discrimination:  # the config rules out a tie here
                pairs = [self.discriminator(b) for b in batches]
            else:
                starts = [sum(sizes[:i]) for i in range(len(sizes))]
                rows = [slice(starts[i], starts[i] + sizes[i]) for i in tie] if tie else None
                with tied_noise(self.discriminator, *rows) if rows else contextlib.nullcontext():
                    logits, h = self.discriminator(torch.cat(batches))
                pairs = list(zip(logits.split(sizes), h.split(sizes)))
        # float32 for the losses under bf16/fp16 autocast: feature matching takes a small
        # difference of batch means, which half precision would round away.
        return [(logits.float(), h.float()) for logits, h in pairs]

    def one_view(self, x: torch.Tensor | None) -> torch.Tensor | None:
        """With ``views``: each example (N, V, 1, D) -> one of its views (N, 1, 1, D), drawn
        at random, the same for D's and G's step of a batch; else x as it is."""
        if x is None or self.n_views == 1:
            return x
        pick = torch.randint(self.n_views, (len(x),), device=x.device)
        return x[torch.arange(len(x), device=x.device), pick].unsqueeze(1)

    def losses(self, x: torch.Tensor, x_labeled=None, y_labeled=None) -> dict[str, torch.Tensor]:
        """Both players' terms without a step (the engine's first-batch check); "loss" is D's."""
        x, x_labeled = self.one_view(x), self.one_view(x_labeled)
        return {**self.discriminator_terms(x, x_labeled, y_labeled), **self.generator_terms(x)}

    # --- the alternating update ------------------------------------------------------------
    def configure_optimizers(self):
        """Adam for each player, D's first; with ``lr_decay_start`` < 1 also their schedules."""
        # fused: one kernel per step for all of a player's tensors instead of a few per
        # tensor; on a 2-core CPU the optimizer steps were a tenth of an iteration.
        adam = partial(torch.optim.Adam, betas=(self.config.beta1, 0.999), fused=True)
        optimizers = [
            adam(trainable(self.discriminator), lr=self.config.lr_d),
            adam(trainable(self.generator), lr=self.config.lr_g),
        ]
        if self.config.lr_decay_start >= 1.0:
            return optimizers
        total = int(self.trainer.estimated_stepping_batches)
        factor = partial(linear_decay, total=total, start=self.config.lr_decay_start)
        # Stepped once per batch by training_step (manual optimization), saved in checkpoints by Lightning.
        return optimizers, [torch.optim.lr_scheduler.LambdaLR(o, factor) for o in optimizers]

    def step(self, optimizer, loss: torch.Tensor) -> None:
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        optimizer.step()

    def training_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> dict[str, torch.Tensor]:
        x, x_labeled, y_labeled = batch
        x, x_labeled = self.one_view(x), self.one_view(x_labeled)
        opt_d, opt_g = self.optimizers()
        if self.config.data_init and self.ema.n_averaged.item() == 0:  # first step of a run, not of a resume
            init_from_data(self.discriminator, x)
        d_terms = self.discriminator_terms(x, x_labeled, y_labeled)
        self.step(opt_d, d_terms["loss"])
        with self.toggled_optimizer(opt_g):  # D's weights get no gradient from G's loss: less work
            g_terms = self.generator_terms(x)
            self.step(opt_g, g_terms["g_loss"])
        self.ema.update_parameters(self.discriminator)  # the first update copies D
        for scheduler in self.schedulers():
            scheduler.step()
        terms = {k: v.detach() for k, v in {**d_terms, **g_terms}.items()}
        self.log_terms(terms)
        return terms  # the engine's NaN guard checks every entry

    def schedulers(self) -> list:
        """The learning-rate schedules (none with a constant rate), as a list."""
        found = self.lr_schedulers()
        return [] if found is None else found if isinstance(found, list) else [found]

    # --- evaluation: the averaged discriminator ---------------------------------------------
    def code(self, x: torch.Tensor) -> torch.Tensor:
        """Images (N, C, H, W) in [0, 1] -> the averaged D's last hidden layer (N, F); with
        ``views``, its mean over an example's views."""
        if self.n_views == 1:
            return self.ema.module.body(x)
        return torch.stack([self.ema.module.body(v) for v in x.split(1, dim=1)]).mean(0)

    def class_logits(self, x: torch.Tensor) -> torch.Tensor:
        """The averaged D's class logits (N, K); with ``views``, the log of its class
        probabilities averaged over an example's views (test-time augmentation), which
        softmax turns back into those probabilities."""
        if self.n_views == 1:
            return self.head(self.code(x))
        probs = torch.stack([self.head(self.ema.module.body(v)).float().softmax(1) for v in x.split(1, dim=1)])
        return probs.mean(0).log()

    def head(self, h: torch.Tensor) -> torch.Tensor:
        """Last hidden layer (N, F) -> the averaged D's class logits (N, K); used by ``logits``."""
        return self.ema.module.head(h)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.code(x)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """G(z) for z ~ U(0, 1), in eval mode -> (n, C, H, W) in [0, 1]."""
        with eval_mode(self):
            return self.generator(self.noise(n, generator)[:n]).clamp(0, 1).cpu()
