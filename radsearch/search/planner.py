"""Filtered nearest-neighbour search: how a metadata filter meets the vector index.

A filter matching at least OVERFETCH_SHARE of the library post-filters an over-fetched search (no id
list to build); a narrower one runs inside the index as an id selector. Either way the ranking is the
exact filtered one, so k results come back whenever k images match.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InvalidFilter
from ..storage import ImageFilter, LibraryStore
from ..storage.filters import HEAD_PREFIX

OVERFETCH_SHARE = 0.05  # filters matching at least this share post-filter an over-fetched search; below it the
# id selector is faster (crossover measured at 200k images: benchmarks/filters.py)
OVERFETCH_MARGIN = 2.0  # fetched = k / share x this; too few matches among them falls back to the id selector


@dataclass
class FilterPlan:
    """A metadata filter ready to apply: how many images match and their share of the library."""

    filter: ImageFilter
    matching: int
    share: float
    allowed: np.ndarray | None = None  # the matching ids, fetched only when the id selector is used


class Planner:
    """Nearest images for a query vector under a filter, never among ids to skip."""

    def __init__(self, store: LibraryStore) -> None:
        self.store = store

    def plan(self, where: dict[str, Any] | None) -> FilterPlan | None:
        """How a filter is applied (its share of the library decides); None without one."""
        if not where:
            return None
        heads = [key[len(HEAD_PREFIX):].partition(":")[0] for key in where if key.startswith(HEAD_PREFIX)]
        missing = [h for h in heads if not self.store.catalog.has_predictions(h)]
        if missing:
            raise InvalidFilter(f"head {', '.join(missing)} has no stored predictions in {self.store.root}; store "
                                f"them with `radsearch heads predict --library {self.store.root} --head {missing[0]} "
                                "--store`")
        flt = self.store.catalog.filter(where)
        matching = self.store.catalog.count_matching(flt)
        return FilterPlan(flt, matching, matching / max(self.store.catalog.count("images"), 1))

    def _allowed(self, plan: FilterPlan, skip: frozenset[int]) -> np.ndarray:
        if plan.allowed is None:
            allowed = np.array(self.store.catalog.matching_ids(plan.filter), dtype=np.int64)
            plan.allowed = np.setdiff1d(allowed, np.fromiter(skip, dtype=np.int64)) if skip else allowed
        return plan.allowed

    def nearest(self, vector: np.ndarray, n: int, plan: FilterPlan | None,
                skip: frozenset[int]) -> list[tuple[int, float]]:
        """(id, score) of the n nearest images matching the filter plan, never in `skip`."""
        index = self.store.vectors("images")
        if plan is not None and plan.share >= OVERFETCH_SHARE:
            over = math.ceil(n / plan.share * OVERFETCH_MARGIN) + len(skip)
            scores, ids = index.search(vector, over)
            found = [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0 and int(i) not in skip]
            keep = set(self.store.catalog.matching_ids(plan.filter, among=[i for i, _ in found]))
            found = [pair for pair in found if pair[0] in keep][:n]
            if len(found) >= n:
                return found  # else too few matches were near: the id selector finds every one there is
        allowed = self._allowed(plan, skip) if plan is not None else None
        if allowed is not None and len(allowed) == 0:
            return []
        over = len(skip) if allowed is None else 0  # without a filter, skipped images are dropped after the search
        scores, ids = index.search(vector, n + over, allowed=allowed)
        found = [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0 and int(i) not in skip][:n]
        if allowed is not None and not index.exact and len(found) < min(n, len(allowed)):
            found = self.exact_among(vector, allowed, n)  # a graph search can run dry under a tight filter
        return found

    def exact_among(self, vector: np.ndarray, allowed: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Brute-force top k among the allowed images, from the embeddings the catalog stores."""
        ids, vectors = self.store.catalog.embeddings("images", allowed.tolist(), self.store.config.embed_dim)
        scores = vectors @ np.asarray(vector, dtype=np.float32)
        order = np.argsort(-scores, kind="stable")[:k]
        return [(int(ids[i]), float(scores[i])) for i in order]
