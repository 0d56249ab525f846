"""The contract every vector index backend keeps (txtai's ANN base: load, index, append, delete, search,
count, save). Vectors are unit-normalised; scores are inner products; ids are catalog primary keys.

An index is derived data: the catalog stores every embedding, so any index can be rebuilt from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class VectorIndex(Protocol):
    """One searchable set of (id, vector) pairs, of one width and one index type (`spec`)."""

    dim: int
    spec: str  # the backend's name for the index type, e.g. a FAISS factory string ("Flat", "IVF4096,Flat")
    version: int  # grows with every add and remove, so what is derived from the ids knows to re-sync

    @property
    def ntotal(self) -> int:
        """How many vectors the index holds."""

    @property
    def exact(self) -> bool:
        """True when searches are exhaustive, so a filtered search is exactly the filtered ranking."""

    @property
    def refine(self) -> int:
        """Candidates per wanted result that the planner re-ranks by the stored embeddings: above 1 for codes
        too coarse to rank by (product quantisation), 1 otherwise."""

    @property
    def is_trained(self) -> bool:
        """False for a type that needs training (inverted lists, quantisers) before vectors can be added."""

    def has_type(self, spec: str) -> bool:
        """Whether the index is of the type `spec` names (its size parameters aside)."""

    def ids(self) -> np.ndarray:
        """(ntotal,) int64 ids, in no particular order."""

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add (n,) ids with their (n, dim) vectors."""

    def remove(self, ids: np.ndarray) -> int:
        """Remove these ids (absent ones are ignored); returns how many were removed. Every type can."""

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None,
               exhaustive: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), each (n_queries, k'), best first; -1 ids pad a row with fewer matches.
        `allowed` restricts the search to those ids (a metadata filter); `exhaustive` compares every allowed
        vector even in an approximate index (the planner asks when a filter's matches lie away from the query)."""

    def stored_vectors(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(ids, vectors) as stored, for checking them against the catalog; None when the index keeps only
        compressed codes."""

    def save(self, path: str | Path) -> None:
        """Write the index atomically."""


class VectorBackend(Protocol):
    """How a backend makes, loads and sizes its indexes (a VectorIndex class's constructors)."""

    def empty(self, dim: int, spec: str) -> VectorIndex: ...

    def build(self, dim: int, spec: str, ids: np.ndarray, vectors: np.ndarray, seed: int = 0) -> VectorIndex: ...

    def load(self, path: str | Path, dim: int, spec: str) -> VectorIndex: ...

    def choose_spec(self, configured: str, n: int, dim: int, budget: int | None = None) -> str:
        """The index type for n vectors: `configured`, or for "auto" one that fits `budget` bytes."""

    def kmeans(self, vectors: np.ndarray, k: int, seed: int = 0) -> np.ndarray: ...

    def set_threads(self, threads: int) -> None:
        """Threads this process's searches and builds may use (radsearch.threads sizes them)."""
