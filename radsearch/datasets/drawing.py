"""Soft-edged shape primitives on a normalised (y, x) grid, for the synthetic radiographs."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

EDGE = 0.012  # width of the soft edge, in fractions of the image side


def grid(height: int, width: int, rotation_deg: float = 0.0, scale: float = 1.0,
         shift: tuple[float, float] = (0.0, 0.0)) -> tuple[np.ndarray, np.ndarray]:
    """Normalised coordinates (0..1) after a small patient-positioning affine."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    yy, xx = yy / height - 0.5 - shift[0], xx / width - 0.5 - shift[1]
    theta = np.deg2rad(rotation_deg)
    c, s = np.cos(theta), np.sin(theta)
    ry, rx = (c * yy - s * xx) / scale, (s * yy + c * xx) / scale
    return ry + 0.5, rx + 0.5


def _soft(signed_distance: np.ndarray, edge: float = EDGE) -> np.ndarray:
    """1 inside (negative distance), 0 outside, with a smooth ramp across the edge."""
    return 1.0 / (1.0 + np.exp(np.clip(signed_distance / edge, -40, 40)))


def ellipse(yy, xx, cy, cx, ry, rx, angle_deg: float = 0.0, edge: float = EDGE) -> np.ndarray:
    t = np.deg2rad(angle_deg)
    dy, dx = yy - cy, xx - cx
    u, v = np.cos(t) * dx + np.sin(t) * dy, -np.sin(t) * dx + np.cos(t) * dy
    r = np.sqrt((u / rx) ** 2 + (v / ry) ** 2)
    return _soft((r - 1.0) * min(rx, ry), edge)


def capsule(yy, xx, y0, x0, y1, x1, radius, edge: float = EDGE) -> np.ndarray:
    """A rounded bar from (y0, x0) to (y1, x1): bones, fingers, clavicles."""
    py, px = yy - y0, xx - x0
    dy, dx = y1 - y0, x1 - x0
    t = np.clip((py * dy + px * dx) / (dy * dy + dx * dx + 1e-9), 0, 1)
    dist = np.sqrt((py - t * dy) ** 2 + (px - t * dx) ** 2)
    return _soft(dist - radius, edge)


def arc(yy, xx, cy, cx, curvature, half_width, thickness, edge: float = EDGE / 2) -> np.ndarray:
    """A parabolic band y = cy + curvature * (x - cx)^2 over |x - cx| < half_width: ribs."""
    centre = cy + curvature * (xx - cx) ** 2
    band = _soft(np.abs(yy - centre) - thickness, edge)
    return band * _soft(np.abs(xx - cx) - half_width, edge)


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Zero-mean, unit-std noise smoothed at sigma pixels: lung markings, patchy opacities."""
    field = gaussian_filter(rng.standard_normal(shape).astype(np.float32), sigma)
    return field / (field.std() + 1e-6)


def blur(image: np.ndarray, sigma: float) -> np.ndarray:
    return gaussian_filter(image, sigma)
