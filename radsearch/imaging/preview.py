"""Small previews of decoded radiographs, as the UI shows them and curation compares them."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image as PILImage

from .radiograph import Radiograph


def preview_png(radiograph: Radiograph, side: int) -> bytes:
    """The preview of a decoded image as PNG bytes: aspect kept, longest side at most `side`.

    Downscaled while still float, then quantised: quantising the full image first costs ~4x more.
    Fast zlib level: radiograph noise barely compresses, and the indexer writes one per image.
    """
    height, width = radiograph.shape
    scale = min(1.0, side / max(height, width))
    image = PILImage.fromarray(radiograph.pixels)
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        image = image.resize(size, PILImage.Resampling.BILINEAR, reducing_gap=2.0)
    small = np.clip(np.round(np.asarray(image) * 255), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    PILImage.fromarray(small).save(buffer, format="PNG", compress_level=1)  # 3.5x faster than 6, 15% larger
    return buffer.getvalue()


def preview_pixels(radiograph: Radiograph, side: int) -> np.ndarray:
    """The same preview as float32 [0, 1] (H, W), quantised as a stored one is."""
    image = PILImage.fromarray(radiograph.pixels)
    image.thumbnail((side, side), PILImage.Resampling.BILINEAR)
    return np.clip(np.round(np.asarray(image, np.float32) * 255), 0, 255) / 255.0


def read_png_preview(png: str | bytes | io.BytesIO) -> np.ndarray:
    """A stored preview (a PNG path or bytes) as float32 [0, 1] (H, W)."""
    source = io.BytesIO(png) if isinstance(png, bytes) else png
    with PILImage.open(source) as image:
        return np.asarray(image.convert("L"), np.float32) / 255.0
