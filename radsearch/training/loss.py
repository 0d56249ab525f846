"""Symmetric image-report InfoNCE with a learnable temperature (CLIP / ConVIRT).

Reports with identical text are positives of each other: in radiology many reports share
one impression ("No acute cardiopulmonary abnormality."), and treating those pairs as
negatives teaches the encoder to separate images that should match.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

MAX_LOGIT_SCALE = math.log(100.0)  # CLIP's clamp: temperature never below 0.01


def matching_targets(texts: Sequence[str]) -> torch.Tensor:
    """(B, B) row-stochastic targets: uniform over the batch items whose text is identical."""
    keys = {text: n for n, text in enumerate(dict.fromkeys(texts))}
    ids = torch.tensor([keys[text] for text in texts])
    same = (ids[:, None] == ids[None, :]).float()
    return same / same.sum(dim=1, keepdim=True)


def contrastive_loss(image: torch.Tensor, text: torch.Tensor, logit_scale: torch.Tensor,
                     targets: torch.Tensor | None = None) -> torch.Tensor:
    """image, text: (B, D) unit vectors of matching pairs; mean of image->text and text->image CE.

    targets: optional (B, B) probabilities (see `matching_targets`); identity when omitted.
    """
    scale = logit_scale.clamp(max=MAX_LOGIT_SCALE).exp()
    logits = scale * image @ text.T  # (B, B)
    if targets is None:
        targets = torch.eye(image.shape[0], device=image.device)
    targets = targets.to(logits.device)
    return 0.5 * (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets.T))
