"""What the evaluation compares: the library's model and the same-run baselines, behind one interface.

An encoder turns decoded radiographs (and, when it has a text tower, texts) into unit vectors.
The baselines answer "is the trained model worth it?": the same architecture with random weights,
and downsampled raw pixels (no learning at all; no text side).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image

from ..imaging import Radiograph, pad_to_square, preprocess
from ..models import RadsearchModel

BASELINES = ("random-init", "pixels")
PIXEL_SIDE = 16  # 16x16 thumbnails: enough to tell anatomy and view apart, not findings


class ModelEncoder:
    """A RadsearchModel's towers."""

    has_text = True

    def __init__(self, name: str, model: RadsearchModel, batch_size: int = 64) -> None:
        self.name, self.model, self.batch_size = name, model, batch_size

    def images(self, radiographs: Sequence[Radiograph]) -> np.ndarray:
        out = []
        for start in range(0, len(radiographs), self.batch_size):
            batch = np.stack([preprocess(rg, self.model.profile) for rg in radiographs[start:start + self.batch_size]])
            out.append(self.model.encode_image(batch))
        return np.concatenate(out) if out else np.zeros((0, self.model.embed_dim), np.float32)

    def texts(self, texts: Sequence[str]) -> np.ndarray:
        step = self.batch_size
        out = [self.model.encode_text(list(texts[i:i + step])) for i in range(0, len(texts), step)]
        return np.concatenate(out) if out else np.zeros((0, self.model.embed_dim), np.float32)


class PixelEncoder:
    """Downsampled raw pixels, centred and normalised: the no-learning baseline (images only)."""

    name = "pixels"
    has_text = False

    def images(self, radiographs: Sequence[Radiograph]) -> np.ndarray:
        rows = []
        for rg in radiographs:
            small = Image.fromarray(pad_to_square(rg.pixels)).resize((PIXEL_SIDE, PIXEL_SIDE), Image.BILINEAR)
            vector = np.asarray(small, dtype=np.float32).ravel()
            vector = vector - vector.mean()
            rows.append(vector / max(float(np.linalg.norm(vector)), 1e-8))
        return np.stack(rows) if rows else np.zeros((0, PIXEL_SIDE * PIXEL_SIDE), np.float32)

    def texts(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError("raw pixels have no text side")


def random_init_encoder(model: RadsearchModel, seed: int = 0) -> ModelEncoder:
    """The model's own architecture, tokenizer and preprocessing with untrained weights."""
    torch.manual_seed(seed)
    dual = type(model.dual)(config=model.dual.config)  # same towers and projections, fresh initialisation
    return ModelEncoder("random-init", RadsearchModel(dual, model.tokenizer, model.profile,
                                                      max_text_length=model.max_text_length))


def baseline_encoders(model: RadsearchModel, names: Sequence[str], seed: int = 0) -> list:
    unknown = [n for n in names if n not in BASELINES]
    if unknown:
        raise ValueError(f"unknown baseline {', '.join(unknown)}; choose from {', '.join(BASELINES)}")
    return [random_init_encoder(model, seed) if name == "random-init" else PixelEncoder() for name in names]
