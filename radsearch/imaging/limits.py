"""Size limits: refuse decompression bombs and absurd headers before decoding, not by running out of memory."""

from __future__ import annotations

import os

from ..errors import UnreadableImage

# 100 megapixels: five times the largest radiography detector (43 x 43 cm at 0.1 mm is ~18.5 MP),
# and about 1 GB as float64 while the LUTs are applied. Override per call or with RADSEARCH_MAX_PIXELS.
DEFAULT_MAX_PIXELS = 100_000_000


def max_pixels(override: int | None = None) -> int:
    if override is not None:
        return int(override)
    return int(os.environ.get("RADSEARCH_MAX_PIXELS", DEFAULT_MAX_PIXELS))


def check_pixel_count(name: str, width: int, height: int, frames: int = 1, samples: int = 1,
                      limit: int | None = None) -> None:
    """Raise UnreadableImage when the declared image is larger than the limit."""
    allowed = max_pixels(limit)
    count = width * height * max(frames, 1) * max(samples, 1)
    if width <= 0 or height <= 0:
        raise UnreadableImage(name, f"header declares an empty image ({width}x{height})")
    if count > allowed:
        shape = f"{width}x{height}" + (f" x {frames} frames" if frames > 1 else "") + \
            (f" x {samples} samples" if samples > 1 else "")
        raise UnreadableImage(
            name, f"{shape} is {count / 1e6:.0f} megapixels, over the limit of {allowed / 1e6:.0f}; "
                  "if the file is genuine, raise it with max_pixels= or RADSEARCH_MAX_PIXELS")
