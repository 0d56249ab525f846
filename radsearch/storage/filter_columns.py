"""Filters answered from memory: the filterable columns and labels of the images a vector index holds.

A filtered search needs the ids a filter matches. Fetched from SQL for each query, that list cost most of a
filtered search at 10^6 images (69,000 hand ids: 30 ms; a 1% label: 50 ms; a three-column filter that
SQLite answers from one column's index and the table rows: 400 ms). Here each column a filter uses is read
once, as one array aligned with the index's sorted ids (text as codes into a vocabulary, numbers as floats,
NULL as -1 / NaN), and a filter is a few vectorised comparisons: milliseconds at 10^6.

It mirrors the image index, not the catalog: a search can only return ids the index holds. Catalog rows
never change their filterable values after they are written (images are inserted and deleted, never
updated; labels come and go with their image), so when the index changes, in this process or on disk by
another one, the ids it gained are read from SQL and the ids it lost are dropped; nothing else can be
stale. Head predictions change on their own, so `head:` filters, and text ranges on a database whose
collation does not order text by code point, stay in SQL (`supports`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .filters import NUMERIC_FILTERS, Condition

log = logging.getLogger(__name__)

LABELS = "labels"


@dataclass
class _Column:
    """One column aligned with FilterColumns.ids: float values (NaN = NULL) or codes into `vocabulary` (-1)."""

    values: np.ndarray
    vocabulary: list[str] = field(default_factory=list)
    codes: dict[str, int] = field(default_factory=dict)

    def encode(self, raw: Sequence[Any]) -> np.ndarray:
        """Codes of text values, extending the vocabulary with ones not seen before."""
        out = np.empty(len(raw), dtype=np.int32)
        for n, value in enumerate(raw):
            if value is None:
                out[n] = -1
                continue
            code = self.codes.get(value)
            if code is None:
                code = self.codes[value] = len(self.vocabulary)
                self.vocabulary.append(value)
            out[n] = code
        return out


class FilterColumns:
    """The values filters compare, for exactly the ids of one image index (`sync` keeps them equal).

    `read_column(name, ids)` returns (ids, values) of a registry column from the catalog; `read_labels(ids)`
    returns (image ids, label names); ids=None means every row."""

    def __init__(self, read_column: Callable[[str, np.ndarray | None], tuple[np.ndarray, list]],
                 read_labels: Callable[[np.ndarray | None], tuple[np.ndarray, list]],
                 text_ranges: bool = True) -> None:
        self._read_column, self._read_labels = read_column, read_labels
        self.text_ranges = text_ranges  # whether the catalog orders text by code point, as Python does
        self.ids = np.zeros(0, np.int64)  # sorted
        self._columns: dict[str, _Column] = {}
        self._labels: dict[str, np.ndarray] | None = None  # label name -> sorted ids carrying it
        self._lock = threading.RLock()  # the REST API searches from several threads: a sync must not interleave

    # -- keeping in step with the index ------------------------------------------------------------------
    def sync(self, index_ids: np.ndarray) -> None:
        """Hold exactly `index_ids`: read the columns of ids gained, drop ids lost."""
        with self._lock:
            self._sync(np.unique(np.asarray(index_ids, dtype=np.int64)))

    def _sync(self, ids: np.ndarray) -> None:
        gained = np.setdiff1d(ids, self.ids, assume_unique=True)
        kept = np.isin(self.ids, ids, assume_unique=True)
        if len(gained) or not kept.all():
            log.debug("filter columns: +%d -%d ids", len(gained), int((~kept).sum()))
            for name, column in self._columns.items():
                column.values = self._merged(column, name, ids, kept, gained)
            if self._labels is not None:
                self._labels = self._merged_labels(ids, gained)
            self.ids = ids

    def _merged(self, column: _Column, name: str, ids: np.ndarray, kept: np.ndarray,
                gained: np.ndarray) -> np.ndarray:
        values = np.full(len(ids), np.nan if name in NUMERIC_FILTERS else -1,
                         dtype=column.values.dtype)
        values[np.searchsorted(ids, self.ids[kept])] = column.values[kept]
        if len(gained):
            found, raw = self._read_column(name, gained)
            values[np.searchsorted(ids, found)] = self._typed(column, name, raw)
        return values

    def _merged_labels(self, ids: np.ndarray, gained: np.ndarray) -> dict[str, np.ndarray]:
        merged = {name: carriers[np.isin(carriers, ids, assume_unique=True)]
                  for name, carriers in (self._labels or {}).items()}
        if len(gained):
            for name, carriers in self._grouped(*self._read_labels(gained)).items():
                merged[name] = np.union1d(merged.get(name, np.zeros(0, np.int64)), carriers)
        return {name: carriers for name, carriers in merged.items() if len(carriers)}

    @staticmethod
    def _typed(column: _Column, name: str, raw: list) -> np.ndarray:
        if name in NUMERIC_FILTERS:
            return np.array([np.nan if v is None else float(v) for v in raw], dtype=np.float64)
        return column.encode(raw)

    @staticmethod
    def _grouped(image_ids: np.ndarray, names: list) -> dict[str, np.ndarray]:
        by_name: dict[str, list[int]] = {}
        for image_id, name in zip(image_ids.tolist(), names):
            by_name.setdefault(name, []).append(image_id)
        return {name: np.unique(np.array(found, dtype=np.int64)) for name, found in by_name.items()}

    def _column(self, name: str) -> _Column:
        """A column, read from the catalog for every held id on first use."""
        if name not in self._columns:
            numeric = name in NUMERIC_FILTERS
            column = _Column(np.full(len(self.ids), np.nan if numeric else -1,
                                     dtype=np.float64 if numeric else np.int32))
            if len(self.ids):
                found, raw = self._read_column(name, None)
                held = np.isin(found, self.ids)
                found, raw = found[held], [v for v, h in zip(raw, held) if h]
                column.values[np.searchsorted(self.ids, found)] = self._typed(column, name, raw)
            self._columns[name] = column
        return self._columns[name]

    def _label_sets(self) -> dict[str, np.ndarray]:
        if self._labels is None:
            image_ids, names = self._read_labels(None) if len(self.ids) else (np.zeros(0, np.int64), [])
            held = np.isin(image_ids, self.ids)
            self._labels = self._grouped(image_ids[held], [n for n, h in zip(names, held) if h])
        return self._labels

    # -- answering filters -------------------------------------------------------------------------------
    def supports(self, conditions: Sequence[Condition]) -> bool:
        """Whether every condition can be answered here (else the whole filter runs in SQL)."""
        for condition in conditions:
            if condition.op == "head":
                return False
            if (condition.op == "range" and condition.column not in NUMERIC_FILTERS
                    and not self.text_ranges):
                return False
        return True

    def matching(self, conditions: Sequence[Condition]) -> np.ndarray:
        """Sorted ids of the held images matching every condition (as SQL would answer them)."""
        ids, mask = self.select(conditions)
        return ids[mask]

    def select(self, conditions: Sequence[Condition]) -> tuple[np.ndarray, np.ndarray]:
        """(the held ids, sorted; whether each matches every condition). A mask, not an id list: a broad filter at
        10^6 images matches 600,000 ids, which cost more to list than to test."""
        with self._lock:
            mask = np.ones(len(self.ids), dtype=bool)
            for condition in conditions:
                mask &= self._mask(condition)
            return self.ids, mask

    def _mask(self, condition: Condition) -> np.ndarray:
        if condition.column == LABELS:
            sets = self._label_sets()
            has = np.zeros(len(self.ids), dtype=bool)
            for value in condition.values:  # carriers are held ids by construction (read and merged against ids)
                if str(value) in sets:
                    has[np.searchsorted(self.ids, sets[str(value)])] = True
            return ~has if condition.op == "not_in" else has
        column = self._column(condition.column)
        if condition.column in NUMERIC_FILTERS:
            return self._numeric_mask(column.values, condition)
        return self._text_mask(column, condition)

    @staticmethod
    def _numeric_mask(values: np.ndarray, condition: Condition) -> np.ndarray:
        if condition.op == "range":
            if condition.low is None and condition.high is None:
                return np.ones(len(values), dtype=bool)  # no bound at all: every image, as in SQL
            mask = ~np.isnan(values)
            if condition.low is not None:
                mask &= values >= float(condition.low)
            if condition.high is not None:
                mask &= values <= float(condition.high)
            return mask
        found = np.zeros(len(values), dtype=bool)
        for value in set(condition.values):  # a few values: one comparison each beats np.isin's sort
            found |= values == float(value)
        return (np.isnan(values) | ~found) if condition.op == "not_in" else found

    @staticmethod
    def _text_mask(column: _Column, condition: Condition) -> np.ndarray:
        if condition.op == "range":  # decided once per distinct value, then looked up by code
            low, high = condition.low, condition.high
            if low is None and high is None:
                return np.ones(len(column.values), dtype=bool)
            accepted = np.array([(low is None or value >= str(low)) and (high is None or value <= str(high))
                                 for value in column.vocabulary] + [False], dtype=bool)
            return accepted[column.values]  # code -1 (NULL) reads the trailing False
        wanted = sorted({column.codes[v] for v in map(str, condition.values) if v in column.codes})
        if len(wanted) == 1:
            found = column.values == wanted[0]
        else:  # a lookup table by code (the trailing entry is NULL's): one gather, where np.isin sorts 10^6 codes
            accepted = np.zeros(len(column.vocabulary) + 1, dtype=bool)
            accepted[wanted] = True
            found = accepted[column.values]
        return ((column.values < 0) | ~found) if condition.op == "not_in" else found
