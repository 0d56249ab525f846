"""What the evaluation compares: the library's model, the same-run baselines and candidate encoders,
behind one interface.

An encoder turns decoded radiographs (and, when it has a text tower, texts) into unit vectors.
The baselines answer "is the model worth it?": the same architecture with random weights, and
downsampled raw pixels (no learning at all; no text side). Candidates are other model directories of
any family radsearch reads (a bake-off: which encoder suits this archive).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from ..imaging import Radiograph, pad_to_square
from ..models import Encoder, embed_radiographs, encode_texts, load_encoder, set_precision

BASELINES = ("random-init", "pixels")
PIXEL_SIDE = 16  # 16x16 thumbnails: enough to tell anatomy and view apart, not findings


class ModelEncoder:
    """An encoder's towers (models.Encoder), through the one preprocess-batch-encode path."""

    def __init__(self, name: str, model: Encoder, batch_size: int = 64) -> None:
        self.name, self.model, self.batch_size = name, model, batch_size

    @property
    def has_text(self) -> bool:
        return "text" in self.model.towers

    @property
    def report_sections(self) -> str:
        return self.model.report_sections

    def images(self, radiographs: Sequence[Radiograph]) -> np.ndarray:
        return embed_radiographs(self.model, list(radiographs), self.batch_size)

    def texts(self, texts: Sequence[str]) -> np.ndarray:
        return encode_texts(self.model, list(texts), self.batch_size)


class PixelEncoder:
    """Downsampled raw pixels, centred and normalised: the no-learning baseline (images only)."""

    name = "pixels"
    has_text = False
    report_sections = "impression"

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


def random_init_encoder(model: Encoder, seed: int = 0) -> ModelEncoder:
    """The model's own architecture, tokenizer and preprocessing with untrained weights."""
    fresh = getattr(model, "with_fresh_weights", None)
    if fresh is None:
        raise ValueError(f"the random-init baseline needs a model that can be re-initialised; "
                         f"{model.info.get('family', type(model).__name__)} models cannot")
    return ModelEncoder("random-init", fresh(seed))


def baseline_encoders(model: Encoder, names: Sequence[str], seed: int = 0) -> list:
    unknown = [n for n in names if n not in BASELINES]
    if unknown:
        raise ValueError(f"unknown baseline {', '.join(unknown)}; choose from {', '.join(BASELINES)}")
    return [random_init_encoder(model, seed) if name == "random-init" else PixelEncoder() for name in names]


def candidate_encoders(directories: Sequence[str | Path], precision: str = "auto") -> list[ModelEncoder]:
    """One encoder per model directory, named by its folder (made unique), loaded by its family, embedding at
    `precision` (the library's, so that it scores as if the archive had been indexed with it)."""
    out, names = [], set()
    for directory in directories:
        name = Path(directory).resolve().name or str(directory)
        base, n = name, 2
        while name in names or name in ("model", *BASELINES):
            name, n = f"{base}-{n}", n + 1
        names.add(name)
        out.append(ModelEncoder(name, set_precision(load_encoder(directory), precision)))
    return out
