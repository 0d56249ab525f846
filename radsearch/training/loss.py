"""Symmetric image-report InfoNCE with a learnable temperature (CLIP / ConVIRT)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

MAX_LOGIT_SCALE = math.log(100.0)  # CLIP's clamp: temperature never below 0.01


def contrastive_loss(image: torch.Tensor, text: torch.Tensor, logit_scale: torch.Tensor) -> torch.Tensor:
    """image, text: (B, D) unit vectors of matching pairs; mean of image->text and text->image CE."""
    scale = logit_scale.clamp(max=MAX_LOGIT_SCALE).exp()
    logits = scale * image @ text.T  # (B, B)
    targets = torch.arange(image.shape[0], device=image.device)
    return 0.5 * (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets))
