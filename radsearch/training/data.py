"""Training data: manifest rows decoded once into an in-memory tensor, plus batch augmentations."""

from __future__ import annotations

import logging
import math

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from ..datasets import ManifestRecord, embedding_text
from ..errors import UnreadableImage
from ..imaging import PreprocessProfile, preprocess, read

log = logging.getLogger(__name__)


def load_pairs(records: list[ManifestRecord], profile: PreprocessProfile,
               progress: bool = True) -> tuple[torch.Tensor, list[str]]:
    """Decode every image that has a report; unreadable files are logged and skipped."""
    images, reports = [], []
    for record in tqdm(records, desc="decode", unit="img", disable=not progress):
        if not record.report:
            continue
        try:
            images.append(preprocess(read(record.path), profile))
        except UnreadableImage as e:
            log.warning("skipping %s", e)
            continue
        reports.append(embedding_text(record.report))
    if not images:
        raise ValueError("no readable image with a report in the training manifest")
    return torch.from_numpy(np.stack(images)), reports


def augment(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Small positioning and exposure changes a radiograph really shows. No flips: laterality matters.

    batch: (B, C, H, W) normalised pixels; returns the same shape.
    """
    b = batch.shape[0]

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(b, generator=generator)

    angle = uniform(-6, 6) * math.pi / 180
    scale = uniform(0.9, 1.1)
    tx, ty = uniform(-0.06, 0.06), uniform(-0.06, 0.06)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)  # (B, 2, 3)
    grid = F.affine_grid(theta, list(batch.shape), align_corners=False)
    low = batch.amin(dim=(1, 2, 3), keepdim=True)
    out = F.grid_sample(batch - low, grid, align_corners=False, padding_mode="zeros") + low
    contrast = uniform(0.85, 1.15).view(b, 1, 1, 1)
    brightness = uniform(-0.15, 0.15).view(b, 1, 1, 1)
    noise = torch.randn(out.shape, generator=generator) * 0.05
    return out * contrast + brightness + noise
