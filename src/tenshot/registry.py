"""METHODS: method name -> (method class, config class). The one place a method is looked up."""

from __future__ import annotations

from tenshot.config import Config
from tenshot.errors import ConfigError
from tenshot.methods.autoencoder import (
    AutoencoderConfig, Autoencoder, DenoisingAEConfig, DenoisingAutoencoder, SparseAEConfig, SparseAutoencoder,
)
from tenshot.methods.base import Method
from tenshot.methods.gan import DCGAN, GAN, DCGANConfig, GANConfig
from tenshot.methods.rbm import DBN, RBM, DBNConfig, RBMConfig
from tenshot.methods.vae import VAE, BetaVAE, BetaVAEConfig, VAEConfig
from tenshot.methods.ssgan import SSGAN, SSGANConfig
from tenshot.methods.ssae import SemiSupervisedAE, SemiSupervisedVAE, SSAEConfig, SSVAEConfig
from tenshot.methods.stacked import StackedAEConfig, StackedAutoencoder
from tenshot.methods.wta import WTAAutoencoder, WTAConfig
from tenshot.methods.colorization import Colorization, ColorizationConfig
from tenshot.methods.context import Context, ContextConfig
from tenshot.methods.rotation import Rotation, RotationConfig
from tenshot.methods.s4l import S4LConfig, S4LRotation
from tenshot.methods.exemplar import Exemplar, ExemplarConfig
from tenshot.methods.simclr import SimCLR, SimCLRConfig

METHODS: dict[str, tuple[type[Method], type[Config]]] = {
    # autoencoders
    "autoencoder": (Autoencoder, AutoencoderConfig),
    "sparse-ae": (SparseAutoencoder, SparseAEConfig),
    "denoising-ae": (DenoisingAutoencoder, DenoisingAEConfig),
    "stacked-ae": (StackedAutoencoder, StackedAEConfig),
    "wta-ae": (WTAAutoencoder, WTAConfig),
    # generative models
    "rbm": (RBM, RBMConfig),
    "dbn": (DBN, DBNConfig),
    "gan": (GAN, GANConfig),
    "dcgan": (DCGAN, DCGANConfig),
    "vae": (VAE, VAEConfig),
    "beta-vae": (BetaVAE, BetaVAEConfig),
    # semi-supervised (need labels: `tenshot semisup`)
    "ssae": (SemiSupervisedAE, SSAEConfig),
    "ssvae": (SemiSupervisedVAE, SSVAEConfig),
    "ssgan": (SSGAN, SSGANConfig),
    "s4l": (S4LRotation, S4LConfig),
    # self-supervised
    "rotation": (Rotation, RotationConfig),
    "context": (Context, ContextConfig),
    "colorization": (Colorization, ColorizationConfig),
    "exemplar": (Exemplar, ExemplarConfig),
    "simclr": (SimCLR, SimCLRConfig),
}

DEFAULT_METHOD = "denoising-ae"


def get_method(name: str) -> tuple[type[Method], type[Config]]:
    try:
        return METHODS[name]
    except KeyError:
        raise ConfigError(f"unknown method {name!r}; run `tenshot methods` to list them ({', '.join(METHODS)})") from None


def summary(name: str) -> str:
    """The first line of the method class's docstring."""
    doc = (get_method(name)[0].__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""
