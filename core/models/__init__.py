"""Phase 4 and Phase 5 models on one shared backbone."""

from .config import LAMBDAS, VARIANTS, ModelConfig, variant_config, variant_for
from .wavelet_codec import PAD_MULTIPLE, WaveletCodecModel, pad_to_multiple

__all__ = [
    "LAMBDAS", "VARIANTS", "ModelConfig", "variant_config", "variant_for",
    "PAD_MULTIPLE", "WaveletCodecModel", "pad_to_multiple",
]
