"""Pixel fingerprints for near-duplicate candidates where a model's embedding cannot tell copies apart.

An encoder trained on findings maps two films of similar anatomy close together whether or not one
is a copy of the other. The fingerprint samples the image on a grid placed by its own intensity
moments (so a slight crop or a resize moves the grid with the content) and is whitened over the
library, so what all images share (anatomy, exposure) counts less than what makes one image itself.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from scipy.ndimage import map_coordinates
from tqdm import tqdm

from ..files import atomic_path
from ..storage import LibraryStore
from ..storage.thumbnails import thumbnail_pixels

log = logging.getLogger(__name__)

# Defaults, each with its reason.
WORK_SIDE = 96  # previews are reduced to this before sampling: enough for the grid, fast to read
GRID = 32  # samples per side: 1 KiB per image as uint8 (1 GB for 10^6 images)
EXTENT = 2.0  # the grid spans +-2 standard deviations of the intensity mass (the body, not the border)
WHITE_DIMS = 128  # principal components kept after whitening: measured best of 32..256 on the demo
PCA_SAMPLE = 50_000  # fingerprints the whitening is fitted on


def fingerprint(pixels: np.ndarray) -> np.ndarray:
    """(GRID*GRID,) uint8: the image sampled on a grid centred and scaled by its intensity moments."""
    image = PILImage.fromarray(np.asarray(pixels, np.float32)).resize((WORK_SIDE, WORK_SIDE),
                                                                         PILImage.Resampling.BOX)
    a = np.asarray(image, np.float32)
    yy, xx = np.mgrid[0:WORK_SIDE, 0:WORK_SIDE].astype(np.float32)
    weight = a ** 2
    mass = float(weight.sum()) or 1.0
    cy, cx = float((weight * yy).sum()) / mass, float((weight * xx).sum()) / mass
    sy = np.sqrt(float((weight * (yy - cy) ** 2).sum()) / mass) or 1.0
    sx = np.sqrt(float((weight * (xx - cx) ** 2).sum()) / mass) or 1.0
    u = np.linspace(-EXTENT, EXTENT, GRID, dtype=np.float32)
    gy, gx = np.meshgrid(cy + u * sy, cx + u * sx, indexing="ij")
    samples = map_coordinates(a, [gy.ravel(), gx.ravel()], order=1, mode="nearest")
    return np.clip(np.round(samples * 255), 0, 255).astype(np.uint8)


def library_fingerprints(store: LibraryStore, ids: np.ndarray, progress: bool = True) -> np.ndarray:
    """(n, GRID*GRID) uint8 fingerprints of these images, cached in the library (derived, rebuildable).

    Cached by content hash and frame, so a removed image's id given to a new one never reuses its entry.
    """
    keys = store.catalog.content_keys(ids)
    path = _cache_path(store)
    cached: dict[str, np.ndarray] = {}
    if path.exists():
        try:
            with np.load(path) as data:
                cached = dict(zip(data["keys"].tolist(), data["fingerprints"]))
        except (OSError, ValueError, KeyError) as e:
            log.warning("fingerprint cache %s is unreadable (%s); computing it again", path, e)
    todo = [(int(i), keys[int(i)]) for i in ids if keys[int(i)] not in cached]
    for image_id, key in tqdm(todo, desc="fingerprints", unit="img", disable=not progress or not todo):
        pixels = thumbnail_pixels(store, image_id)
        cached[key] = fingerprint(pixels) if pixels is not None else np.zeros(GRID * GRID, np.uint8)
    if todo:
        _save(path, cached)  # entries of images outside `ids` too: a filtered run must not drop them
    if not len(ids):
        return np.zeros((0, GRID * GRID), np.uint8)
    return np.stack([cached[keys[int(i)]] for i in ids])


def whiten(fingerprints: np.ndarray, dims: int = WHITE_DIMS, seed: int = 0) -> np.ndarray:
    """Unit vectors of the fingerprints in the library's whitened principal components (FAISS-ready)."""
    x = fingerprints.astype(np.float32) / 255.0
    rng = np.random.default_rng(seed)
    sample = x if len(x) <= PCA_SAMPLE else x[rng.choice(len(x), PCA_SAMPLE, replace=False)]
    mean = sample.mean(axis=0)
    _, singular, components = np.linalg.svd(sample - mean, full_matrices=False)
    dims = max(1, min(dims, len(singular)))
    projected = ((x - mean) @ components[:dims].T) / (singular[:dims] + 1e-3)
    return (projected / np.maximum(np.linalg.norm(projected, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def _cache_path(store: LibraryStore) -> Path:
    return store.paths.curation / "fingerprints.npz"


def _save(path: Path, cached: dict[str, np.ndarray]) -> None:
    keys = sorted(cached)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:  # a killed run leaves the old cache whole
        np.savez(fh, keys=np.array(keys), fingerprints=np.stack([cached[k] for k in keys]))
