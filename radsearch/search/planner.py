"""Filtered nearest-neighbour search: how a metadata filter meets the vector index.

A filter on metadata and labels is answered from the in-memory filter columns (storage/filter_columns.py):
its exact matches in milliseconds, with no SQL. A filter on stored head predictions goes to SQL, its share
estimated from a fixed random sample of image ids (SAMPLE of them, checked by primary key), so planning
costs the same at 10^3 and 10^7 images and never counts the whole catalog. A broad filter post-filters an
over-fetched search (no id list to build); a narrow one runs inside the index as an id selector over its
matching ids. On an exact index either way gives the exact filtered ranking, so k results come back
whenever k images match; an inverted-file index probes the nearest lists holding a match, and all of them
when an over-fetch found the matches far from the query.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InvalidFilter
from ..storage import ImageFilter, LibraryStore, VectorIndex
from ..storage.filters import HEAD_PREFIX

SAMPLE = 500  # image ids a filter is tried on to estimate its share: one primary-key query, about 3 ms at 10^6
OVERFETCH_SHARE = 0.05  # filters matching at least this share post-filter an over-fetched search; below it the
# id selector is faster with an exact index (crossover measured at 200k images: benchmarks/filters.py)
OVERFETCH_MARGIN = 2.0  # fetched = k / share x this; too few matches among them falls back to the id selector
OVERFETCH_MAX = 1000  # an approximate index (IVF) over-fetches up to this many candidates whatever the share: its
# search costs the same for k up to thousands, while an id list of a 1% filter at 10^6 is 10^4 ids to fetch
# (benchmarks/library_scale.py); checking candidates in SQL costs about 5 us each (2,500 made the 1% label filter
# slower at 10^6: 54 -> 96 ms p50)
EXACT_AMONG_MAX = 1000  # a filter matching at most this many images is ranked exactly from their stored vectors


@dataclass
class FilterPlan:
    """A metadata filter ready to apply: its estimated share of the library."""

    filter: ImageFilter
    share: float  # of the indexed images (estimated on a sample for a filter answered in SQL), the share it matches
    allowed: np.ndarray | None = None  # the matching ids: fetched from SQL when the id selector is used, or listed
    # from the mask
    mask: np.ndarray | None = None  # from the filter columns: whether each of `universe` (sorted ids) matches
    universe: np.ndarray | None = None


class Planner:
    """Nearest images for a query vector under a filter, never among ids to skip."""

    def __init__(self, store: LibraryStore) -> None:
        self.store = store
        self._sample: tuple[int, np.ndarray] | None = None  # (index size, sampled ids)

    def sample(self) -> np.ndarray:
        """A fixed random sample of the indexed image ids (all of them in a small library), redrawn as it grows."""
        index = self.store.vectors("images")
        if self._sample is None or self._sample[0] != index.ntotal:
            ids = index.ids()
            if len(ids) > SAMPLE:
                ids = np.sort(np.random.default_rng(0).choice(ids, SAMPLE, replace=False))
            self._sample = (index.ntotal, ids)
        return self._sample[1]

    def plan(self, where: dict[str, Any] | None) -> FilterPlan | None:
        """How a filter is applied (its estimated share of the library decides); None without one."""
        if not where:
            return None
        heads = [key[len(HEAD_PREFIX):].partition(":")[0] for key in where if key.startswith(HEAD_PREFIX)]
        missing = [h for h in heads if not self.store.catalog.has_predictions(h)]
        if missing:
            raise InvalidFilter(f"head {', '.join(missing)} has no stored predictions in {self.store.root}; store "
                                f"them with `radsearch heads predict --library {self.store.root} --head {missing[0]} "
                                "--store`")
        flt = self.store.catalog.filter(where)
        columns = self.store.filter_columns()
        if columns.supports(flt.conditions):  # answered in memory: the exact matches, no SQL
            ids, mask = columns.select(flt.conditions)
            return FilterPlan(flt, np.count_nonzero(mask) / max(len(mask), 1), mask=mask, universe=ids)
        sample = self.sample()
        matched = len(self.store.catalog.matching_ids(flt, among=sample.tolist())) if len(sample) else 0
        plan = FilterPlan(flt, matched / max(len(sample), 1))
        if len(sample) < SAMPLE and not matched:  # the sample was the whole library: nothing matches
            plan.allowed = np.zeros(0, np.int64)
        return plan

    def matches_nothing(self, plan: FilterPlan | None) -> bool:
        """Whether a filter matches no image at all (exact: a filter the sample missed is looked up in full)."""
        if plan is None or plan.share > 0:
            return False
        return len(self._allowed(plan, frozenset())) == 0

    def _allowed(self, plan: FilterPlan, skip: frozenset[int]) -> np.ndarray:
        """Every id the filter matches (fetched once per plan), minus `skip`."""
        if plan.allowed is None and plan.mask is not None:
            plan.allowed = plan.universe[plan.mask]
        elif plan.allowed is None:
            plan.allowed = np.array(self.store.catalog.matching_ids(plan.filter), dtype=np.int64)
        return np.setdiff1d(plan.allowed, np.fromiter(skip, dtype=np.int64)) if skip else plan.allowed

    def nearest(self, vector: np.ndarray, n: int, plan: FilterPlan | None,
                skip: frozenset[int]) -> list[tuple[int, float]]:
        """(id, score) of the n nearest images matching the filter plan, never in `skip`. An index whose codes are
        too coarse to rank by (`refine` > 1) gives refine x n candidates, ranked again by their stored vectors."""
        index = self.store.vectors("images")
        if index.refine > 1:
            candidates = self._nearest(index, vector, n * index.refine, plan, skip)
            return self.exact_among(vector, np.array([i for i, _ in candidates], dtype=np.int64), n)
        return self._nearest(index, vector, n, plan, skip)

    def _nearest(self, index: VectorIndex, vector: np.ndarray, n: int, plan: FilterPlan | None,
                 skip: frozenset[int]) -> list[tuple[int, float]]:
        far = False  # whether an over-fetch found too few matches: they lie away from the query
        if plan is not None and plan.share > 0:
            over = math.ceil(n / plan.share * OVERFETCH_MARGIN) + len(skip)
            if plan.share >= OVERFETCH_SHARE or (not index.exact and over <= OVERFETCH_MAX):
                far = True
                scores, ids = index.search(vector, over)
                found = [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0 and int(i) not in skip]
                found = [pair for pair, kept in zip(found, self._matches(plan, [i for i, _ in found])) if kept][:n]
                if len(found) >= n:
                    return found  # else too few matches were near: the id selector finds every one there is
        allowed = self._allowed(plan, skip) if plan is not None else None
        if allowed is not None and len(allowed) == 0:
            return []
        if allowed is not None and not index.exact and len(allowed) <= EXACT_AMONG_MAX:
            return self.exact_among(vector, allowed, n)
        over = len(skip) if allowed is None else 0  # without a filter, skipped images are dropped after the search
        # where an over-fetch missed, the matches lie away from the query: an IVF index searches every list holding one
        scores, ids = index.search(vector, n + over, allowed=allowed, exhaustive=far)
        found = [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0 and int(i) not in skip][:n]
        if allowed is not None and not index.exact and len(found) < min(n, len(allowed)):
            found = self.exact_among(vector, allowed, n)  # a graph search can run dry under a tight filter
        return found

    def _matches(self, plan: FilterPlan, ids: list[int]) -> np.ndarray:
        """Whether each id matches the plan's filter: from its mask or id list when known, else asked of SQL."""
        if plan.mask is not None:
            wanted = np.array(ids, dtype=np.int64)
            at = np.minimum(np.searchsorted(plan.universe, wanted), max(len(plan.universe) - 1, 0))
            return (plan.universe[at] == wanted) & plan.mask[at] if len(plan.universe) else np.zeros(len(ids), bool)
        if plan.allowed is not None:
            return np.isin(np.array(ids, dtype=np.int64), plan.allowed)
        keep = set(self.store.catalog.matching_ids(plan.filter, among=ids))
        return np.array([i in keep for i in ids], dtype=bool)

    def exact_among(self, vector: np.ndarray, allowed: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Brute-force top k among the allowed images, from the embeddings the catalog stores."""
        ids, vectors = self.store.catalog.embeddings("images", allowed.tolist(), self.store.config.embed_dim)
        scores = vectors @ np.asarray(vector, dtype=np.float32)
        order = np.argsort(-scores, kind="stable")[:k]
        return [(int(ids[i]), float(scores[i])) for i in order]
