"""Clusters and a 2-D map of the library's embeddings for browsing: UMAP when installed, else PCA."""

from __future__ import annotations

import logging
import math

import faiss
import numpy as np

log = logging.getLogger(__name__)

MAX_CLUSTERS = 64  # more than a person browses
MAX_POINTS_PER_CLUSTER = 256  # k-means trains on at most this many points per cluster (FAISS' own limit)


def cluster(vectors: np.ndarray, clusters: int | None = None, seed: int = 0) -> np.ndarray:
    """A cluster number per vector (spherical k-means in FAISS); about sqrt(n/2) clusters unless given."""
    n = len(vectors)
    if n == 0:
        return np.zeros(0, np.int64)
    k = clusters or max(1, min(MAX_CLUSTERS, round(math.sqrt(n / 2))))
    k = min(k, n)
    kmeans = faiss.Kmeans(vectors.shape[1], k, niter=20, seed=seed, spherical=True,
                          max_points_per_centroid=MAX_POINTS_PER_CLUSTER, verbose=False)
    kmeans.train(np.ascontiguousarray(vectors, np.float32))
    return kmeans.index.search(np.ascontiguousarray(vectors, np.float32), 1)[1][:, 0].astype(np.int64)


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
