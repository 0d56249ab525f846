"""Image and text towers (transformers) with projections into one space; model-directory format."""

from .encoder import RadsearchModel, build_dual_encoder, check_tower, load_tower, load_tower_config
from .presets import EncoderPreset, available_presets, load_preset
from .tokenizer import train_wordpiece

__all__ = ["EncoderPreset", "RadsearchModel", "available_presets", "build_dual_encoder", "check_tower", "load_preset",
           "load_tower", "load_tower_config", "train_wordpiece"]
