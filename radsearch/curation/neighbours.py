"""The k-nearest-neighbour graph every curation check starts from, found with FAISS (never all pairs)."""

from __future__ import annotations

import numpy as np

from ..storage.vectors import AUTO, DEFAULT_BACKEND, vector_backend

QUERY_BATCH = 4096  # queries per FAISS call: bounded memory for (batch, k) results at any library size


def knn_graph(ids: np.ndarray, vectors: np.ndarray, k: int, spec: str = AUTO,
              backend: str = DEFAULT_BACKEND) -> tuple[np.ndarray, np.ndarray]:
    """(neighbour ids, cosine scores), each (n, k): every vector's k nearest others, best first.

    The index is what a library of n vectors would use ("auto": exact below ~10^5 vectors, inverted
    lists above); -1 pads rows with fewer than k neighbours. The vector itself is left out.
    """
    n = len(ids)
    if n == 0:
        return np.zeros((0, k), np.int64), np.zeros((0, k), np.float32)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    vectors_of = vector_backend(backend)
    dim = vectors.shape[1]
    index = vectors_of.build(dim, vectors_of.choose_spec(spec, n, dim), np.asarray(ids, np.int64), vectors)
    found_ids = np.full((n, k), -1, np.int64)
    found_scores = np.zeros((n, k), np.float32)
    for start in range(0, n, QUERY_BATCH):
        stop = min(start + QUERY_BATCH, n)
        scores, neighbours = _padded(*index.search(vectors[start:stop], k + 1), k + 1)
        # drop each row's own id, or its last neighbour where FAISS did not return itself (ties)
        own = neighbours == np.asarray(ids[start:stop], np.int64)[:, None]
        own[~own.any(axis=1), -1] = True
        own &= np.cumsum(own, axis=1) == 1
        found_ids[start:stop] = neighbours[~own].reshape(stop - start, k)
        found_scores[start:stop] = scores[~own].reshape(stop - start, k)
    return found_ids, found_scores


def _padded(scores: np.ndarray, ids: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Results widened to `width` columns (-1 ids) where the index held fewer vectors than asked for."""
    if ids.shape[1] >= width:
        return scores, ids
    missing = width - ids.shape[1]
    return (np.pad(scores, ((0, 0), (0, missing))), np.pad(ids, ((0, 0), (0, missing)), constant_values=-1))
