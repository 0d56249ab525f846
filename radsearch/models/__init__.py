"""Encoders: the `Encoder` contract, radsearch's own dual-encoder family, presets, tokenizers, and the one
preprocess-batch-encode path. The only package that imports transformers."""

from .batching import embed_radiographs, encode_images, encode_texts, in_batches
from .dual import RadsearchModel
from .loading import FAMILIES, load_encoder
from .presets import EncoderPreset, available_presets, load_preset
from .processing import pretrained_profile, profile_from_processor
from .protocol import TOWERS, Encoder, PatchEncoder, text_refusal
from .runtime import (
    PRECISIONS,
    check_precision,
    encoder_threads,
    resolve_precision,
    set_encoder_threads,
    set_precision,
)
from .tokenizer import load_tokenizer, pretrained_tokenizer, train_wordpiece
from .towers import build_dual_encoder, check_tower, load_tower, load_tower_config, new_text_tower

__all__ = ["FAMILIES", "PRECISIONS", "TOWERS", "Encoder", "EncoderPreset", "PatchEncoder", "RadsearchModel",
           "available_presets", "build_dual_encoder", "check_precision", "check_tower", "embed_radiographs",
           "encode_images", "encode_texts", "encoder_threads", "in_batches", "load_encoder", "load_preset",
           "load_tokenizer", "load_tower", "load_tower_config", "new_text_tower", "pretrained_profile",
           "pretrained_tokenizer", "profile_from_processor", "resolve_precision", "set_encoder_threads",
           "set_precision", "text_refusal", "train_wordpiece"]
