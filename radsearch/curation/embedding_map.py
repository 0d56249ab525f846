"""Clusters and a 2-D map of the library's embeddings for browsing: UMAP when installed, else PCA."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import numpy as np

log = logging.getLogger(__name__)

MAX_CLUSTERS = 64  # more than a person browses


def cluster(vectors: np.ndarray, clusters: int | None, kmeans: Callable[[np.ndarray, int, int], np.ndarray],
            seed: int = 0) -> np.ndarray:
    """A cluster number per vector (spherical k-means, by the vector backend); about sqrt(n/2) clusters
    unless given."""
    n = len(vectors)
    if n == 0:
        return np.zeros(0, np.int64)
    k = clusters or max(1, min(MAX_CLUSTERS, round(math.sqrt(n / 2))))
    return kmeans(vectors, min(k, n), seed)


def project_2d(vectors: np.ndarray, method: str = "auto", seed: int = 0) -> tuple[np.ndarray, str]:
    """((n, 2) coordinates, the method used): "umap" (if umap-learn is installed), "pca", or "auto"."""
    if method not in ("auto", "umap", "pca"):
        raise ValueError(f"unknown map method {method!r}; use auto, umap or pca")
    if method in ("auto", "umap") and len(vectors) > 15:
        try:
            import umap  # optional: pip install umap-learn
            return umap.UMAP(n_components=2, random_state=seed).fit_transform(vectors).astype(np.float32), "umap"
        except ImportError:
            if method == "umap":
                raise ValueError("the umap map needs umap-learn: pip install umap-learn") from None
            log.info("umap-learn is not installed; the map uses PCA")
    if len(vectors) < 2:
        return np.zeros((len(vectors), 2), np.float32), "pca"
    centred = vectors - vectors.mean(axis=0)
    _, _, components = np.linalg.svd(centred[:: max(1, len(centred) // 50_000)], full_matrices=False)
    return (centred @ components[:2].T).astype(np.float32), "pca"
