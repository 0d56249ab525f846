"""Localisation maps: where inside an image a direction of the embedding space (a text, a head's
target) is matched.

Two ways:
- "occlusion" (default): the image tower sees the image again with one patch window at a time
  blurred out; a patch scores by how much the direction's score drops without it. Model-agnostic
  and faithful to what the embedding uses; one batched pass of OCCLUSION_GRID^2 + 1 images.
- "tokens": one pass; each patch token of the tower's last layer goes through the final
  normalisation, pooler and projection as if it were the whole image (MaskCLIP's reading of
  dense features). Cheap; meant for ViT/DINOv2 towers with good dense features (not yet measured on
  one). On the tiny ConvNeXt's 4x4 last layer it does not localise (docs/benchmarks.md).
The map is then cropped to the image's own area (preprocessing pads to square) and upsampled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..errors import RadsearchError
from ..imaging import Radiograph, preprocess
from ..models import Encoder, PatchEncoder, encode_images

METHODS = ("occlusion", "tokens")
OCCLUSION_GRID = 16  # window positions per side; 8 is 4x cheaper and localises less (docs/benchmarks.md)
OCCLUSION_WINDOW = 0.125  # window side as a fraction of the image: twice the step, so windows overlap
OCCLUSION_BLUR = 0.05  # blur sigma as a fraction of the side: removes structure, keeps overall brightness
OCCLUSION_BATCH = 64
OVERLAY_ALPHA = 0.6  # how much of the heat colour covers the radiograph at the map's peak
OVERLAY_FLOOR = 0.4  # map values below this share of the range leave the radiograph untinted


@dataclass
class Explanation:
    """A localisation map for one image: `heatmap` (H, W) in [0, 1] over the image's own pixels."""

    heatmap: np.ndarray  # (H, W) float32, 1 = best match
    grid: np.ndarray  # (h, w) raw patch scores before cropping and upsampling
    pixels: np.ndarray  # (H, W) the radiograph it explains, [0, 1]
    query: str  # the text or head/target it answers
    method: str

    @property
    def peak(self) -> tuple[float, float]:
        """(y, x) of the map's maximum, in fractions of the image height and width."""
        y, x = np.unravel_index(int(np.argmax(self.heatmap)), self.heatmap.shape)
        h, w = self.heatmap.shape
        return (y + 0.5) / h, (x + 0.5) / w

    def overlay(self, alpha: float = OVERLAY_ALPHA) -> Image.Image:
        """The radiograph in grey with the strongest part of the map in heat colours on top (RGB)."""
        grey = np.repeat(np.clip(self.pixels, 0, 1)[..., None], 3, axis=2)
        strength = np.clip((self.heatmap - OVERLAY_FLOOR) / (1 - OVERLAY_FLOOR), 0, 1)
        weight = alpha * strength[..., None]
        blended = grey * (1 - weight) + heat_colours(strength) * weight
        return Image.fromarray(np.round(blended * 255).astype(np.uint8), mode="RGB")

    def heat_layer(self) -> np.ndarray:
        """The map alone as an RGBA layer (H, W, 4) uint8, transparent where it is weak: for a viewer to draw
        over the image at whatever window it shows."""
        strength = np.clip((self.heatmap - OVERLAY_FLOOR) / (1 - OVERLAY_FLOOR), 0, 1)
        rgba = np.concatenate([heat_colours(strength), strength[..., None]], axis=-1)
        return np.round(rgba * 255).astype(np.uint8)


def heat_colours(values: np.ndarray) -> np.ndarray:
    """[0, 1] -> RGB in [0, 1] from red to yellow: never white or grey, so it stands out on a radiograph."""
    v = np.clip(values, 0, 1)[..., None]
    return np.concatenate([np.ones_like(v), v, np.zeros_like(v)], axis=-1)


def explain(model: Encoder, radiograph: Radiograph, direction: np.ndarray, query: str = "",
            method: str = "occlusion", grid: int = OCCLUSION_GRID) -> Explanation:
    """The map of where `direction` (a (D,) vector in the shared space) matches inside the radiograph;
    `grid` is the number of occlusion windows per side."""
    if method not in METHODS:
        raise ValueError(f"localisation method {method!r}: choose {' or '.join(METHODS)}")
    image = preprocess(radiograph, model.profile)
    direction = np.asarray(direction, dtype=np.float32)
    if method == "occlusion":
        scores = _occlusion_map(model, image, direction, grid)
    else:
        scores = _token_map(model, image, direction)
    heatmap = _to_image(scores, radiograph.pixels.shape)
    return Explanation(heatmap, scores, radiograph.pixels, query, method)


def _occlusion_map(model: Encoder, image: np.ndarray, direction: np.ndarray, grid: int) -> np.ndarray:
    """(grid, grid) drop of the direction's score when each overlapping patch window is blurred out."""
    from scipy.ndimage import gaussian_filter
    side = image.shape[-1]
    step = side / grid
    half = max(int(round(OCCLUSION_WINDOW * side / 2)), 1)
    blurred = np.stack([gaussian_filter(channel, OCCLUSION_BLUR * side) for channel in image])
    variants = [image]
    for i in range(grid):
        for j in range(grid):
            cy, cx = int((i + 0.5) * step), int((j + 0.5) * step)
            y0, y1, x0, x1 = max(cy - half, 0), min(cy + half, side), max(cx - half, 0), min(cx + half, side)
            variant = image.copy()
            variant[:, y0:y1, x0:x1] = blurred[:, y0:y1, x0:x1]
            variants.append(variant)
    scores = encode_images(model, np.stack(variants), OCCLUSION_BATCH) @ direction
    return (scores[0] - scores[1:]).reshape(grid, grid)


def _token_map(model: PatchEncoder, image: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """(h, w) similarity of each patch's embedding (models: patch_embeddings) to the direction."""
    if not hasattr(model, "patch_embeddings"):
        raise RadsearchError("token maps need an encoder that embeds patches; use the occlusion method")
    return (model.patch_embeddings(image[None]) @ direction).astype(np.float32)


def _to_image(grid: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A patch grid over the padded square -> (H, W) over the image itself, scaled to [0, 1]."""
    h, w = shape
    side = max(h, w)
    square = np.asarray(Image.fromarray(grid.astype(np.float32)).resize((side, side), Image.Resampling.BILINEAR))
    top, left = (side - h) // 2, (side - w) // 2
    crop = square[top:top + h, left:left + w].astype(np.float32)
    low, high = float(crop.min()), float(crop.max())
    return (crop - low) / (high - low) if high > low else np.zeros_like(crop)

