"""Same-run baselines that trained models are compared with."""

from __future__ import annotations

from pathlib import Path

import torch

from ..models import RadsearchModel, build_dual_encoder, load_preset


def random_init_model(trained_dir: str | Path, out: str | Path, preset: str = "tiny", seed: int = 0) -> Path:
    """The same architecture, tokenizer and preprocessing as `trained_dir`, with untrained weights."""
    trained = RadsearchModel.from_pretrained(trained_dir)
    torch.manual_seed(seed)
    dual = build_dual_encoder(load_preset(preset), len(trained.tokenizer))
    untrained = RadsearchModel(dual, trained.tokenizer, trained.profile, max_text_length=trained.max_text_length)
    return untrained.save_pretrained(out)
