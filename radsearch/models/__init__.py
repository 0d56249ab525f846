"""Encoders: the `Encoder` contract, radsearch's own dual-encoder family, presets, tokenizers, and the one
preprocess-batch-encode path. The only package that imports transformers."""

from .batching import embed_radiographs, encode_images, encode_texts, in_batches
from .dual import RadsearchModel
from .loading import FAMILIES, load_encoder
from .presets import EncoderPreset, available_presets, load_preset
from .protocol import TOWERS, Encoder, PatchEncoder
from .tokenizer import load_tokenizer, pretrained_tokenizer, train_wordpiece
from .towers import build_dual_encoder, check_tower, load_tower, load_tower_config, pretrained_profile

__all__ = ["FAMILIES", "TOWERS", "Encoder", "EncoderPreset", "PatchEncoder", "RadsearchModel", "available_presets",
           "build_dual_encoder", "check_tower", "embed_radiographs", "encode_images", "encode_texts", "in_batches",
           "load_encoder", "load_preset", "load_tokenizer", "load_tower", "load_tower_config", "pretrained_profile",
           "pretrained_tokenizer", "train_wordpiece"]
