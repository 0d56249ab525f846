"""Vector indexes: the `VectorIndex` contract and its backends, chosen by name (radsearch.toml's
`vector_backend`). FAISS is the one backend today; a new one is a class with the same methods,
registered in BACKENDS."""

from __future__ import annotations

from ...errors import RadsearchError
from .base import VectorBackend, VectorIndex
from .faiss_backend import AUTO, FaissIndex

BACKENDS: dict[str, VectorBackend] = {"faiss": FaissIndex}
DEFAULT_BACKEND = "faiss"


def vector_backend(name: str = DEFAULT_BACKEND) -> VectorBackend:
    """The backend registered under `name`; an unknown name lists the known ones."""
    try:
        return BACKENDS[name]
    except KeyError:
        raise RadsearchError(f"unknown vector backend {name!r}; radsearch has {', '.join(sorted(BACKENDS))}") from None


def set_vector_threads(threads: int) -> None:
    """Size every backend's thread team in this process."""
    for backend in BACKENDS.values():
        backend.set_threads(threads)


__all__ = ["AUTO", "BACKENDS", "DEFAULT_BACKEND", "FaissIndex", "VectorBackend", "VectorIndex", "set_vector_threads",
           "vector_backend"]
