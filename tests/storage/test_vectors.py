"""The FAISS wrapper: ids are catalog keys, filters keep k results, files are written atomically."""

from __future__ import annotations

import numpy as np

from radsearch.storage import VectorIndex


def _unit(n: int, d: int = 8, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_search_returns_catalog_ids_best_first():
    index = VectorIndex(8)
    vectors = _unit(50)
    index.add(np.arange(100, 150), vectors)
    scores, ids = index.search(vectors[7], 5)
    assert ids[0][0] == 107 and np.all(np.diff(scores[0]) <= 1e-6)


def test_filtered_search_still_returns_exactly_k():
    index = VectorIndex(8)
    index.add(np.arange(1000), _unit(1000))
    allowed = np.arange(0, 1000, 97)  # 11 rare ids, likely none in the unfiltered top 10
    scores, ids = index.search(_unit(1, seed=9)[0], 10, allowed=allowed)
    assert len(ids[0]) == 10 and set(ids[0]) <= set(allowed)


def test_saved_index_loads_back_and_a_corrupt_file_loads_empty(tmp_path):
    index = VectorIndex(8)
    index.add(np.arange(10), _unit(10))
    index.save(tmp_path / "images.faiss")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left behind
    assert VectorIndex.load(tmp_path / "images.faiss", 8).ntotal == 10
    (tmp_path / "images.faiss").write_bytes(b"garbage")
    assert VectorIndex.load(tmp_path / "images.faiss", 8).ntotal == 0  # rebuilt later from the catalog


def test_removed_ids_are_no_longer_found():
    index = VectorIndex(8)
    vectors = _unit(20)
    index.add(np.arange(20), vectors)
    index.remove(np.array([3]))
    assert 3 not in index.search(vectors[3], 5)[1][0]
