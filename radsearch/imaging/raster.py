"""PNG / JPEG / TIFF through Pillow, keeping 16-bit depth where the file has it."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import UnreadableImage
from .radiograph import Radiograph


def read_raster(source: str | Path | bytes, name: str) -> Radiograph:
    """Decode a PNG/JPEG/TIFF (path or bytes) to grayscale float32 in [0, 1]."""
    fp = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with Image.open(fp) as img:
            img.load()
            pixels = _to_unit_gray(img)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
        raise UnreadableImage(name, f"not a readable PNG/JPEG/TIFF ({e})") from e
    return Radiograph(pixels=pixels, source=name)


def _to_unit_gray(img: Image.Image) -> np.ndarray:
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        return np.asarray(img, dtype=np.float32) / 65535.0
    if mode == "I":  # 32-bit int; Pillow opens 16-bit PNGs this way on some versions
        arr = np.asarray(img, dtype=np.float32)
        return arr / (65535.0 if arr.max() > 255 else 255.0)
    if mode == "F":
        arr = np.asarray(img, dtype=np.float32)
        low, high = float(arr.min()), float(arr.max())
        return (arr - low) / (high - low) if high > low else np.zeros_like(arr)
    if mode != "L":
        img = img.convert("L")
    return np.asarray(img, dtype=np.float32) / 255.0
