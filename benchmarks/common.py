"""Shared by the speed benchmarks: an encoder pair with untrained weights (speed does not depend on them)."""

from __future__ import annotations

from radsearch.imaging import PreprocessProfile
from radsearch.models import RadsearchModel, load_preset, train_wordpiece

REPORT_PHRASES = ["FINDINGS: No pleural effusion. No pneumothorax. IMPRESSION: Normal chest radiograph.",
                  "left pleural effusion", "cardiomegaly without effusion", "right apical pneumothorax",
                  "nodule in the right upper zone"]


def untrained_model(preset_name: str = "tiny") -> RadsearchModel:
    """A preset's towers, randomly initialised, with a WordPiece vocabulary from a few report phrases."""
    preset = load_preset(preset_name)
    tokenizer = train_wordpiece(REPORT_PHRASES * 4, preset.vocab_size)
    profile = PreprocessProfile(size=preset.image_size, channels=preset.channels)
    return RadsearchModel.from_preset(preset, tokenizer, profile)
