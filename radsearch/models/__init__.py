"""Image and text towers (transformers) with projections into one space; model-directory format."""

from .encoder import RadsearchModel, build_dual_encoder
from .presets import EncoderPreset, available_presets, load_preset
from .tokenizer import train_wordpiece

__all__ = ["EncoderPreset", "RadsearchModel", "available_presets", "build_dual_encoder", "load_preset",
           "train_wordpiece"]
