"""PNG / JPEG / TIFF through Pillow, keeping 16-bit depth where the file has it."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import UnreadableImage
from .limits import check_pixel_count
from .radiograph import Radiograph


def read_raster(source: str | Path | bytes, name: str, max_pixels: int | None = None) -> Radiograph:
    """Decode a PNG/JPEG/TIFF (path or bytes) to grayscale float32 in [0, 1].

    The size in the header is checked against imaging.limits before any pixel is decoded.
    """
    fp = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit applies below
            with Image.open(fp) as img:
                check_pixel_count(name, img.width, img.height, frames=getattr(img, "n_frames", 1),
                                  samples=len(img.getbands()), limit=max_pixels)
                img.load()
                pixels = _to_unit_gray(img)
    except UnreadableImage:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError) as e:
        raise UnreadableImage(name, f"not a readable PNG/JPEG/TIFF ({e})") from e
    except Exception as e:  # a parser of untrusted bytes: any failure means "cannot read", never a crash
        raise UnreadableImage(name, f"malformed image ({type(e).__name__}: {e})") from e
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
