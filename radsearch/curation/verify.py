"""Pixel verification of a near-duplicate candidate pair: is one image a re-encoded, resized or slightly
cropped copy of the other?

The second image is taken to show a box of the first (or the reverse). The box is found from row
and column intensity profiles, the first image is resampled onto the second's grid, and the score
is the correlation of their fine detail away from edges: copies share their noise and texture; two
films of the same anatomy, even in the same position, do not.
"""

from __future__ import annotations

import numpy as np
from PIL import Image as PILImage
from scipy.ndimage import gaussian_filter

# Defaults, each with its reason.
SIDE = 96  # working grid: previews are 192 px; detail survives at half that, and it is 4x cheaper
MAX_CROP = 0.16  # the largest crop per side considered "slight"
STEPS = 9  # coarse box positions tried per side (2% steps up to MAX_CROP), then finer around the best
REFITS = 2  # profile fits repeated on the other axis' box: a crop across biases the profile
DETAIL_SIGMA = 1.0  # blur (pixels of the working grid) removed to keep only fine detail: noise, texture
FLAT_SHARE = 0.4  # detail is compared on the flattest 40% of the image: edges align in any two films
THRESHOLD = 0.42  # detail correlation that makes a near duplicate (docs/benchmarks.md: copies >= 0.54, others <= 0.31)


def working(pixels: np.ndarray, box: tuple[float, float, float, float] | None = None) -> np.ndarray:
    """An image (or a box of it, in pixels) on the working grid: SIDE x SIDE, aspect not kept."""
    image = PILImage.fromarray(np.asarray(pixels, np.float32))
    return np.asarray(image.resize((SIDE, SIDE), PILImage.Resampling.BOX, box=box), np.float32)


def _stretch(profile: np.ndarray, boxes: np.ndarray, samples: int) -> np.ndarray:
    """(len(boxes), samples): `profile` read between each box's (start, stop) fractions, linearly interpolated."""
    n = len(profile)
    t = (np.arange(samples) + 0.5) / samples
    position = np.clip((boxes[:, :1] + t * (boxes[:, 1:] - boxes[:, :1])) * n - 0.5, 0, n - 1)
    left = np.floor(position).astype(int)
    frac = position - left
    return profile[left] * (1 - frac) + profile[np.minimum(left + 1, n - 1)] * frac


def _best_box(profile: np.ndarray, target: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> tuple[float, float]:
    boxes = np.array([(a, b) for a in starts for b in stops], np.float64)
    stretched = _stretch(profile, boxes, len(target))
    stretched -= stretched.mean(axis=1, keepdims=True)
    t = target - target.mean()
    score = (stretched @ t) / (np.linalg.norm(stretched, axis=1) * np.linalg.norm(t) + 1e-9)
    lo, hi = boxes[int(np.argmax(score))]
    return float(lo), float(hi)


def _fit(profile: np.ndarray, target: np.ndarray, around: tuple[float, float] | None = None) -> tuple[float, float]:
    """The (start, stop) fraction of `profile` whose stretch best matches `target`: 2% steps up to
    MAX_CROP (unless `around` gives a first guess), then 0.25% steps within 1% of the best."""
    if around is None:
        coarse = np.linspace(0.0, MAX_CROP, STEPS)
        around = _best_box(profile, target, coarse, 1.0 - coarse)
    lo, hi = around
    fine = np.linspace(-0.01, 0.01, 9)
    return _best_box(profile, target, np.clip(lo + fine, 0, MAX_CROP), np.clip(hi + fine, 1 - MAX_CROP, 1))


def _detail(a: np.ndarray) -> np.ndarray:
    """Fine detail away from edges, as a unit vector."""
    smooth = gaussian_filter(a, DETAIL_SIGMA)
    gy, gx = np.gradient(smooth)
    edges = np.hypot(gy, gx)
    d = np.where(edges <= np.quantile(edges, FLAT_SHARE), a - smooth, 0.0)
    d -= d.mean()
    return d / (np.linalg.norm(d) + 1e-9)


def _one_way(full: np.ndarray, part: np.ndarray, part_detail: np.ndarray) -> float:
    """Detail correlation when `part` shows a box of `full`."""
    h, w = full.shape
    y0, y1 = _fit(full.mean(axis=1), part.mean(axis=1))
    x0, x1 = _fit(full.mean(axis=0), part.mean(axis=0))
    for _ in range(REFITS):  # each profile again over the other axis' box: a crop across biases it
        rows = slice(int(y0 * h), max(int(y1 * h), int(y0 * h) + 1))
        cols = slice(int(x0 * w), max(int(x1 * w), int(x0 * w) + 1))
        y0, y1 = _fit(full[:, cols].mean(axis=1), part.mean(axis=1), (y0, y1))
        x0, x1 = _fit(full[rows].mean(axis=0), part.mean(axis=0), (x0, x1))
    return float((_detail(working(full, (x0 * w, y0 * h, x1 * w, y1 * h))) * part_detail).sum())


def match_score(a: np.ndarray, b: np.ndarray) -> float:
    """Fine-detail correlation of two images after aligning one onto the other, in [-1, 1]: ~1 for copies."""
    return max(_one_way(a, b, _detail(working(b))), _one_way(b, a, _detail(working(a))))
