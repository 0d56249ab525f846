"""Filtered search in an inverted-file index: probe the lists nearest the query *among those holding a match*.

An IVF index compares a query with the vectors of its `nprobe` nearest lists. Under a filter whose matches
lie away from the query (hands, under a chest query) those lists hold none of them, and probing more lists
in order of distance reaches the matches only after probing nearly all (at 10^6 images: 135-780 ms). Knowing
which list each vector is in, a filtered search counts the matches per list, orders only the lists that hold
one by their centroid's similarity to the query, and probes the nearest of those with FAISS's own
`search_preassigned` until they hold as many matches as an unfiltered search compares vectors. A filter
that follows the clusters (a body part) then probes about as many lists as an unfiltered search; one
independent of them (a date range, a label) probes more, as it must for a query far from every cluster (a
text query): benchmarks.md, "Filtered IVF probing", has both.

FAISS keeps this in its inverted lists but has no lookup from an id to its list, so `ListMap` reads the
lists once (tens of ms at 10^6) and keeps an id -> list array until the index changes.
"""

from __future__ import annotations

import faiss
import numpy as np

DENSE_SLACK = 16  # ids up to this many times the vector count (plus 2^20) are mapped by a dense array


def list_ids(ivf: faiss.IndexIVF) -> tuple[np.ndarray, np.ndarray]:
    """(ids, list of each id) of every vector an IVF index holds, list by list."""
    invlists = ivf.invlists
    sizes = np.array([invlists.list_size(n) for n in range(ivf.nlist)], dtype=np.int64)
    ids = [faiss.rev_swig_ptr(invlists.get_ids(n), int(sizes[n])).copy() for n in range(ivf.nlist) if sizes[n]]
    return (np.concatenate(ids) if ids else np.zeros(0, np.int64)).astype(np.int64), \
        np.repeat(np.arange(ivf.nlist, dtype=np.int32), sizes)


def coarse_queries(index: faiss.Index, queries: np.ndarray) -> np.ndarray:
    """The queries as the inverted lists see them: through the index's transforms (PCA, OPQ) when it has any."""
    if isinstance(index, faiss.IndexPreTransform):
        for n in range(index.chain.size()):
            queries = index.chain.at(n).apply(queries)
    return np.ascontiguousarray(queries, dtype=np.float32)


class ListMap:
    """The inverted list of every id of an IVF index (ids as stored in its lists)."""

    def __init__(self, ivf: faiss.IndexIVF) -> None:
        self.nlist = int(ivf.nlist)
        ids, lists = list_ids(ivf)
        self.centroids = ivf.quantizer.reconstruct_n(0, self.nlist)
        self._dense = len(ids) == 0 or (ids.min() >= 0 and int(ids.max()) <= DENSE_SLACK * len(ids) + 2**20)
        if self._dense:
            self._list_of = np.full(int(ids.max()) + 1 if len(ids) else 0, -1, np.int32)
            self._list_of[ids] = lists
        else:  # sparse ids: a sorted array and a binary search
            order = np.argsort(ids)
            self._ids, self._lists = ids[order], lists[order]

    def lists_of(self, allowed: np.ndarray) -> np.ndarray:
        """The list of each allowed id the index holds."""
        allowed = np.asarray(allowed, dtype=np.int64)
        if self._dense:
            lists = self._list_of[allowed[(allowed >= 0) & (allowed < len(self._list_of))]]
            return lists[lists >= 0]
        if not len(self._ids):
            return np.zeros(0, np.int32)
        at = np.clip(np.searchsorted(self._ids, allowed), 0, len(self._ids) - 1)
        return self._lists[at[self._ids[at] == allowed]]

    def probe(self, queries: np.ndarray, allowed: np.ndarray, compared: float | None,
              nprobe: int) -> tuple[np.ndarray, np.ndarray, int]:
        """(lists, their similarities to each query, lists holding a match) for `search_preassigned`, (n, width):
        per query the lists nearest it that hold an allowed id, at least `nprobe` of them and enough to hold
        `compared` allowed ids; every such list when `compared` is None."""
        counts = np.bincount(self.lists_of(allowed), minlength=self.nlist)
        candidates = np.flatnonzero(counts)
        similarities = queries @ self.centroids[candidates].T  # an inner-product quantiser: larger is nearer
        order = np.argsort(-similarities, axis=1, kind="stable")
        width = len(candidates)
        if compared is not None and len(candidates):
            held = np.cumsum(counts[candidates][order], axis=1)
            needed = max(int(np.searchsorted(row, compared)) + 1 for row in held)
            width = min(len(candidates), max(nprobe, needed))
        nearest = order[:, :width]
        return (np.ascontiguousarray(candidates[nearest], dtype=np.int64),
                np.ascontiguousarray(np.take_along_axis(similarities, nearest, axis=1), dtype=np.float32),
                len(candidates))
