"""Encoder input preparation, hashed per profile.

Two geometries:
- "pad" (radsearch's own models): pad to square (never stretch, never crop), resize, normalise; the
  pixels stay float, so 12- and 16-bit detail reaches the encoder.
- the published processors of foundation models, reproduced exactly (tests compare with transformers'
  own processors): the image as 8-bit grey replicated to RGB, resized ("shortest_edge" keeps the aspect
  ratio; "stretch" does not), centre-cropped, rescaled by 1/255 and normalised per channel.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields

import numpy as np
from PIL import Image

from .radiograph import Radiograph

FITS = ("pad", "shortest_edge", "stretch")
CONTRASTS = ("as_read", "stretch")
STRETCH_PERCENTILES = (1.0, 99.0)
RESAMPLE = {"nearest": Image.Resampling.NEAREST, "bilinear": Image.Resampling.BILINEAR,
            "bicubic": Image.Resampling.BICUBIC, "lanczos": Image.Resampling.LANCZOS,
            "box": Image.Resampling.BOX, "hamming": Image.Resampling.HAMMING}
ORIGINAL_FIELDS = ("size", "channels", "mean", "std")  # a profile using only these hashes as it always did


@dataclass(frozen=True)
class PreprocessProfile:
    """How pixels become an encoder input; stored with the model and hashed into every vector row."""

    size: int = 128  # square side in pixels fed to the image tower (after any crop)
    channels: int = 1  # 1 for radiograph-native towers, 3 to feed RGB-pretrained towers
    mean: float | tuple[float, ...] = 0.5  # subtracted after scaling to [0, 1]: one value, or one per channel
    std: float | tuple[float, ...] = 0.25  # divided after subtracting the mean
    fit: str = "pad"  # see the module docstring; "shortest_edge" and "stretch" are published processors'
    resize: int = 0  # the side resized to before the centre crop (shortest edge, or both); 0 = size
    crop: bool = False  # centre-crop size x size after resizing
    resample: str = "bilinear"  # the PIL filter of the resize
    crop_offset: str = "floor"  # how a centre crop's odd margin is split: "floor" (transformers), "round" (torchvision)
    contrast: str = "as_read"  # or "stretch": each image's 1st-99th percentile becomes 0-1 (see stretch_contrast)

    def __post_init__(self) -> None:
        if self.fit not in FITS:
            raise ValueError(f"preprocessing fit {self.fit!r}: choose one of {', '.join(FITS)}")
        if self.crop_offset not in ("floor", "round"):
            raise ValueError(f"preprocessing crop_offset {self.crop_offset!r}: choose floor or round")
        if self.contrast not in CONTRASTS:
            raise ValueError(f"preprocessing contrast {self.contrast!r}: choose one of {', '.join(CONTRASTS)}")
        if self.resample not in RESAMPLE:
            raise ValueError(f"preprocessing resample {self.resample!r}: choose one of {', '.join(RESAMPLE)}")
        for name in ("mean", "std"):
            value = getattr(self, name)
            if isinstance(value, (list, tuple)):
                values = tuple(float(v) for v in value)
                if len(values) not in (1, self.channels):
                    raise ValueError(f"preprocessing {name} has {len(values)} values for {self.channels} channels")
                object.__setattr__(self, name, values[0] if len(set(values)) == 1 else values)

    def to_dict(self) -> dict:
        """The profile as stored; fields left at their defaults are left out, so a profile of the original
        four fields keeps the hash it always had."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ORIGINAL_FIELDS or value != f.default:
                out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, data: dict) -> PreprocessProfile:
        known = {f.name for f in fields(cls)}
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known})

    @property
    def hash(self) -> str:
        blob = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def channel_stats(self) -> tuple[np.ndarray, np.ndarray]:
        """(mean, std), each (channels, 1, 1) float32."""
        def per_channel(value: float | tuple[float, ...]) -> np.ndarray:
            values = value if isinstance(value, tuple) else (value,) * self.channels
            return np.asarray(values, np.float32).reshape(-1, 1, 1)
        return per_channel(self.mean), per_channel(self.std)


def stretch_contrast(pixels: np.ndarray) -> np.ndarray:
    """The image's own 1st-99th percentile stretched to 0-1: an automatic window, as a viewer's "auto" gives.

    Archives mix films scanned dark or bright, photographs of light boxes and processed DX images; after
    this each shows its anatomy over the same range, so the encoder sees anatomy rather than exposure.
    """
    low, high = np.percentile(pixels, STRETCH_PERCENTILES)
    if high - low < 1e-6:
        return pixels
    return np.clip((pixels - low) / (high - low), 0.0, 1.0).astype(np.float32)


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


def shortest_edge_size(height: int, width: int, shortest: int) -> tuple[int, int]:
    """(height, width) with the shorter side `shortest` and the aspect ratio kept (the longer side truncated,
    as transformers' processors compute it)."""
    if width <= height:
        return int(shortest * height / width), shortest
    return shortest, int(shortest * width / height)


def centre_crop(pixels: np.ndarray, size: int, offset: str = "floor") -> np.ndarray:
    """The central size x size of an (H, W) array, padded with zeros where the image is smaller. An odd
    margin is split as transformers does (offset="floor") or as torchvision does (Python's round)."""
    h, w = pixels.shape
    if h < size or w < size:
        canvas = np.zeros((max(h, size), max(w, size)), pixels.dtype)
        top, left = (canvas.shape[0] - h) // 2, (canvas.shape[1] - w) // 2
        canvas[top:top + h, left:left + w] = pixels
        pixels, h, w = canvas, canvas.shape[0], canvas.shape[1]
    if offset == "round":
        top, left = int(round((h - size) / 2.0)), int(round((w - size) / 2.0))
    else:
        top, left = (h - size) // 2, (w - size) // 2
    return pixels[top:top + size, left:left + size]


def _published(pixels: np.ndarray, profile: PreprocessProfile) -> np.ndarray:
    """(H, W) float32 in [0, 1] after a published processor's geometry, from the 8-bit image it would see."""
    grey = Image.fromarray(np.round(np.clip(pixels, 0.0, 1.0) * 255).astype(np.uint8))
    target = profile.resize or profile.size
    if profile.fit == "shortest_edge":
        height, width = shortest_edge_size(grey.height, grey.width, target)
    else:
        height = width = target
    if (height, width) != (grey.height, grey.width):
        grey = grey.resize((width, height), RESAMPLE[profile.resample])
    out = np.asarray(grey, np.float32)
    if profile.crop:
        out = centre_crop(out, profile.size, profile.crop_offset)
    return out * np.float32(1 / 255)


def preprocess(radiograph: Radiograph, profile: PreprocessProfile) -> np.ndarray:
    """(C, size, size) float32 array ready for the image tower."""
    pixels = stretch_contrast(radiograph.pixels) if profile.contrast == "stretch" else radiograph.pixels
    if profile.fit == "pad":
        square = resize(pad_to_square(pixels), profile.size)
    else:
        square = _published(pixels, profile)
    mean, std = profile.channel_stats()
    return ((np.repeat(square[None], profile.channels, axis=0) - mean) / std).astype(np.float32)
