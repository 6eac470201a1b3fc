"""Building blocks injectable into any method."""

from tenshot.nn.corruption import corrupt
from tenshot.nn.encoders import (
    ConvDecoder,
    ConvEncoder,
    Encoder,
    MLPDecoder,
    MLPEncoder,
    build_decoder,
    build_encoder,
    pooled_features,
)

__all__ = [
    "ConvDecoder", "ConvEncoder", "Encoder", "MLPDecoder", "MLPEncoder",
    "build_decoder", "build_encoder", "corrupt", "pooled_features",
]
