"""Encoder input preparation: pad to square (never stretch), resize, normalise; hashed per profile."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image

from .radiograph import Radiograph


@dataclass(frozen=True)
class PreprocessProfile:
    """How pixels become an encoder input; stored with the model and hashed into every vector row."""

    size: int = 128  # square side in pixels fed to the image tower
    channels: int = 1  # 1 for radiograph-native towers, 3 to feed RGB-pretrained towers
    mean: float = 0.5  # subtracted after scaling to [0, 1]
    std: float = 0.25  # divided after subtracting the mean

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> PreprocessProfile:
        return cls(**{k: data[k] for k in ("size", "channels", "mean", "std") if k in data})

    @property
    def hash(self) -> str:
        blob = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def pad_to_square(pixels: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """Centre the image on a square canvas so anatomy keeps its aspect ratio."""
    h, w = pixels.shape
    side = max(h, w)
    if h == w:
        return pixels
    canvas = np.full((side, side), fill, dtype=np.float32)
    top, left = (side - h) // 2, (side - w) // 2
    canvas[top:top + h, left:left + w] = pixels
    return canvas


def resize(pixels: np.ndarray, size: int) -> np.ndarray:
    """Area-preserving resize of float pixels to size x size."""
    if pixels.shape == (size, size):
        return pixels.astype(np.float32)
    img = Image.fromarray(np.ascontiguousarray(pixels, dtype=np.float32))
    return np.asarray(img.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0),
                      dtype=np.float32)


def preprocess(radiograph: Radiograph, profile: PreprocessProfile) -> np.ndarray:
    """(C, size, size) float32 array ready for the image tower."""
    square = resize(pad_to_square(radiograph.pixels), profile.size)
    normed = (square - profile.mean) / profile.std
    return np.repeat(normed[None], profile.channels, axis=0).astype(np.float32)
