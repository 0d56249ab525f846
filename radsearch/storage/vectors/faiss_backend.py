"""The FAISS backend: every fact about FAISS index types lives here (which types train, which delete,
HNSW efSearch and IVF nprobe, GPU copies, reading stored vectors back, the "auto" choice by size)."""

from __future__ import annotations

import errno
import logging
import math
import os
import re
from pathlib import Path

import faiss
import numpy as np

from ...errors import LibraryCorrupt, RadsearchError
from ...files import atomic_path
from .ivf_lists import ListMap, coarse_queries, list_ids

log = logging.getLogger(__name__)

AUTO = "auto"
FLAT_LIMIT = 100_000  # below this many vectors exact search is fast enough (benchmarks/vector_index.py)
# above it: inverted lists over full vectors, nlist ~ 4 sqrt(N). At 10^6 clustered vectors IVF4096,Flat
# recalled 1.000 of the exact top 10 in 0.3 ms where HNSW32 recalled 0.77-0.95 (benchmarks/search.py),
# and IVF deletes in place where HNSW must be rebuilt.
LARGE_SPEC = "IVF{nlist},Flat"
MIN_TRAINED = 10_000  # vectors needed before an index type that trains (IVF, PQ) replaces exact search
MIN_POINTS_PER_LIST = 39  # FAISS's floor for training k-means
TRAIN_SAMPLE = 100_000  # vectors an index that needs training (IVF, PQ) is trained on, at least
TRAIN_PER_LIST = 64  # and this many per IVF list (FAISS warns below 39): IVF16384 trains on 1M vectors
HNSW_EF_SEARCH = 128  # candidate list per HNSW query: recall@10 near 0.99 at 10^5-10^6 vectors
IVF_NPROBE = 32  # inverted lists visited per IVF query for the top IVF_DEPTH
IVF_DEPTH = 10  # deeper searches probe IVF_NPROBE x sqrt(k / IVF_DEPTH) lists: at 10^6, a query far from every
# cluster (as text queries are) over-fetching 400-700 candidates recalled 0.93-0.97 of a filter's top 10 at
# nprobe 32 and 1.000 at 64-128 (docs/benchmarks.md, "Filtered IVF probing")
PQ_REFINE = 20  # a product-quantised index returns 20x the candidates, re-ranked by the stored embeddings: at 10^6
# IVF4096,PQ32 recalled 0.474 alone, 0.924 at 10x, 0.973 at 20x, 0.995 at 40x (docs/benchmarks.md)
BYTES_PER_ID = 64  # per vector beside its code in IDMap2 (Flat, HNSW): its id array and reverse hash map
IVF_BYTES_PER_ID = 24  # in an IVF index: the id in its list (8), the id -> list map of filtered search (4), and
# the id arrays a sync or a filter copies (12)
BITMAP_FROM = 4096  # id lists at least this long are given to FAISS as a bitmap
GPU_MAX_K = 2048  # the largest k FAISS GPU searches support
WRITE_ERRORS = {"no space left": errno.ENOSPC, "file too large": errno.EFBIG, "quota": errno.EDQUOT}
KMEANS_ITERATIONS = 20
KMEANS_POINTS_PER_CENTROID = 256  # k-means trains on at most this many points per cluster (FAISS' own limit)


def gpu_count() -> int:
    """GPUs FAISS can use: non-zero only with a GPU build of FAISS (the `gpu` extra) on a GPU machine."""
    count = getattr(faiss, "get_num_gpus", None)
    return int(count()) if count else 0


def _inverted_lists(index: faiss.Index) -> int:
    """nlist of an IVF index (inside an IDMap), 0 for other types."""
    try:
        return int(faiss.extract_index_ivf(index).nlist)
    except RuntimeError:
        return 0


def _family(index: faiss.Index) -> str:
    """Flat, IVF, HNSW or another FAISS class's name: what decides how an index searches and deletes."""
    inner = faiss.downcast_index(index)
    for name, kind in (("HNSW", faiss.IndexHNSW), ("IVF", faiss.IndexIVF), ("Flat", faiss.IndexFlat)):
        if isinstance(inner, kind):
            return name
    return type(inner).__name__


def index_bytes(spec: str, n: int, dim: int) -> int:
    """Memory an index of this factory string takes for n vectors: codes, ids, and IVF centroids."""
    kind = spec.rsplit(",", 1)[-1]
    product = re.fullmatch(r"PQ(\d+)(?:x8)?", kind)
    code = int(product.group(1)) if product else dim if kind == "SQ8" else 4 * dim  # bytes per vector
    nlist = int(re.match(r"IVF(\d+)", spec).group(1)) if spec.startswith("IVF") else 0
    return n * (code + (IVF_BYTES_PER_ID if nlist else BYTES_PER_ID)) + nlist * dim * 4


def auto_spec(n: int, dim: int = 128, budget: int | None = None) -> str:
    """The factory string "auto" means for n vectors: Flat below FLAT_LIMIT, then IVF sized to n, over full
    vectors while they fit the memory budget, else over 8-bit scalar codes, else product-quantised codes."""
    if n < FLAT_LIMIT:
        return "Flat"
    nlist = max(1, min(2 ** round(math.log2(4 * math.sqrt(n))), n // MIN_POINTS_PER_LIST))
    candidates = [LARGE_SPEC.format(nlist=nlist), f"IVF{nlist},SQ8",
                  *(f"IVF{nlist},PQ{m}" for m in (dim // 2, dim // 4, dim // 8) if m >= 1 and dim % m == 0)]
    for spec in candidates:
        if budget is None or index_bytes(spec, n, dim) <= budget:
            return spec
    log.warning("%d %d-d vectors need %.1f GB even as %s, over the memory budget of %.1f GB; using it anyway",
                n, dim, index_bytes(candidates[-1], n, dim) / 1e9, candidates[-1], budget / 1e9)
    return candidates[-1]


def needs_training(spec: str, dim: int) -> bool:
    """Whether an index of this factory string must be trained before it takes vectors (IVF, PQ)."""
    return not faiss.index_factory(dim, spec, faiss.METRIC_INNER_PRODUCT).is_trained


def _selector(allowed: np.ndarray) -> faiss.IDSelector:
    """An id selector for FAISS: a bitmap over the id range for large sets (a hash set of 10^5 ids took 25 ms to
    build, the bitmap of 10^6 bits 1 ms), the batch selector for small ones."""
    allowed = np.asarray(allowed, dtype=np.int64)
    if len(allowed) < BITMAP_FROM or allowed.min() < 0:
        return faiss.IDSelectorBatch(allowed)
    mask = np.zeros(int(allowed.max()) + 1, dtype=bool)
    mask[allowed] = True
    bits = np.packbits(mask, bitorder="little")
    selector = faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bits))
    selector.bits_owner = bits  # FAISS keeps only the pointer: the array must live as long as the selector
    return selector


def _new_index(dim: int, spec: str) -> faiss.Index:
    """An empty index of `spec` that keeps the catalog's ids: an inverted-file index stores them in its lists
    itself; other types are wrapped in IDMap2. (IDMap2 around IVF loses track of its ids once one is removed:
    IVF keeps the removed positions while IDMap2 compacts its map, faiss issues #4535 and #4656.)"""
    bare = faiss.index_factory(dim, spec, faiss.METRIC_INNER_PRODUCT)
    return bare if _inverted_lists(bare) else faiss.index_factory(dim, f"IDMap2,{spec}", faiss.METRIC_INNER_PRODUCT)


class FaissIndex:
    """A FAISS index keyed by catalog ids (an IVF type as is, others in IDMap2); satisfies `VectorIndex`."""

    def __init__(self, dim: int, spec: str = "Flat", index: faiss.Index | None = None) -> None:
        self.dim = dim
        self.spec = spec
        self.index = index or _new_index(dim, spec)
        self._gpu: faiss.Index | None = None  # a GPU copy for unfiltered searches, made on first use
        self._gpu_failed = False
        self._lists: ListMap | None = None  # which IVF list holds each id, read on the first filtered search
        self.version = 0  # counts adds and removals: what is derived from the ids (filter columns) re-syncs on it

    # -- constructors (the backend's side of the contract) ------------------------------------------
    @classmethod
    def empty(cls, dim: int, spec: str) -> FaissIndex:
        return cls(dim, spec)

    @classmethod
    def build(cls, dim: int, spec: str, ids: np.ndarray, vectors: np.ndarray, seed: int = 0) -> FaissIndex:
        """A new index of `spec` over these vectors, trained first on a sample when the type needs it."""
        index = cls(dim, spec)
        if not index.index.is_trained:
            rng = np.random.default_rng(seed)
            wanted = max(TRAIN_SAMPLE, TRAIN_PER_LIST * _inverted_lists(index.index))
            sample = vectors if len(vectors) <= wanted else vectors[rng.choice(len(vectors), wanted, replace=False)]
            if len(sample) == 0:
                raise RadsearchError(f"FAISS index {spec!r} needs training vectors; the library has none yet")
            index.index.train(np.ascontiguousarray(sample, dtype=np.float32))
        index.add(ids, vectors)
        return index

    @classmethod
    def load(cls, path: str | Path, dim: int, spec: str = "Flat") -> FaissIndex:
        """Read an index file; a missing file gives an empty index (it is rebuilt from the catalog).

        A file that exists but cannot be read, or holds vectors of another width, is damage (writes are
        atomic, so no crash leaves one): LibraryCorrupt names it, and `radsearch repair` rebuilds it.
        """
        path = Path(path)
        if not path.is_file():
            return cls(dim, spec)
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as e:
            reason = re.sub(r"^Error in .*? at \S+:\d+: (Error: )?", "", str(e).strip()) or "unreadable"
            raise LibraryCorrupt(f"vector index {path} is damaged ({reason}); rebuild it from the catalog with "
                                 f"`radsearch repair --library {path.parent.parent}`") from e
        if index.d != dim:
            raise LibraryCorrupt(f"vector index {path} holds {index.d}-d vectors, the library {dim}-d ones; rebuild "
                                 f"it from the catalog with `radsearch repair --library {path.parent.parent}`")
        return cls(dim, spec, index)

    @staticmethod
    def choose_spec(configured: str, n: int, dim: int, budget: int | None = None) -> str:
        """The type a kind of n vectors uses now: the configured factory string, or by size and memory `budget`
        (bytes) for "auto"; exact search while there are too few vectors to train a type that needs training."""
        spec = auto_spec(n, dim, budget) if configured == AUTO else configured
        if n < MIN_TRAINED and needs_training(spec, dim):
            return "Flat"
        return spec

    @staticmethod
    def set_threads(threads: int) -> None:
        faiss.omp_set_num_threads(max(1, int(threads)))  # FAISS's OpenMP team, process-wide

    @staticmethod
    def kmeans(vectors: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
        """A cluster number per unit vector: spherical k-means, each vector assigned to its nearest centre."""
        data = np.ascontiguousarray(vectors, np.float32)
        kmeans = faiss.Kmeans(data.shape[1], k, niter=KMEANS_ITERATIONS, seed=seed, spherical=True,
                              max_points_per_centroid=KMEANS_POINTS_PER_CENTROID, verbose=False)
        kmeans.train(data)
        return kmeans.index.search(data, 1)[1][:, 0].astype(np.int64)

    # -- the index ----------------------------------------------------------------------------------
    def _inner(self) -> faiss.Index:
        """The index type itself: the IVF index inside any transform, or what IDMap2 wraps."""
        if _inverted_lists(self.index):
            return faiss.extract_index_ivf(self.index)
        return faiss.downcast_index(self.index.index)

    @property
    def _mapped(self) -> bool:
        """Whether the ids live in an IDMap2 wrapper: Flat, HNSW, and IVF files written before IVF kept them itself."""
        return isinstance(self.index, (faiss.IndexIDMap2, faiss.IndexIDMap))

    def _on_gpu(self) -> faiss.Index | None:
        """The GPU copy of this index, when FAISS sees GPUs and supports the type (Flat, IVF; not HNSW).

        The CPU index stays the one that is written and changed; the copy is remade after a change.
        """
        if self._gpu is None and not self._gpu_failed and gpu_count() > 0:
            try:
                if isinstance(self._inner(), faiss.IndexIVF):
                    faiss.extract_index_ivf(self.index).nprobe = IVF_NPROBE  # the copy keeps it
                self._gpu = faiss.index_cpu_to_all_gpus(self.index)
                log.info("%s index of %d vectors copied to %d GPUs", self.spec, self.ntotal, gpu_count())
            except (RuntimeError, AttributeError) as e:  # e.g. HNSW has no GPU version
                log.info("%s index stays on the CPU: %s", self.spec, e)
                self._gpu_failed = True
        return self._gpu

    def has_type(self, spec: str) -> bool:
        """Whether this index is of the family `spec` makes (Flat, IVF, HNSW) with the same codes (full vectors,
        SQ8, PQ of m bytes): a memory budget that now asks for other codes makes it rebuilt. nlist is ignored.
        An IVF index inside IDMap2 (as radsearch wrote them before) is not: it is rebuilt with its ids in its lists."""
        fresh = FaissIndex(self.dim, spec)
        if _family(fresh._inner()) != _family(self._inner()) or (self._mapped and not fresh._mapped):
            return False
        mine = self._inner()
        return not isinstance(mine, faiss.IndexIVF) or fresh._inner().code_size == mine.code_size

    @property
    def exact(self) -> bool:
        return isinstance(self._inner(), faiss.IndexFlat)

    @property
    def refine(self) -> int:
        """PQ_REFINE for product-quantised codes, whose own ranking recalled 0.50 of the top 10 at 10^6."""
        inner = faiss.downcast_index(self._inner())
        return PQ_REFINE if isinstance(inner, (faiss.IndexIVFPQ, faiss.IndexPQ)) else 1

    @property
    def is_trained(self) -> bool:
        return bool(self.index.is_trained)

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    def ids(self) -> np.ndarray:
        if not self._mapped:
            return list_ids(self._inner())[0]
        return faiss.vector_to_array(self.index.id_map).astype(np.int64)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.shape[1] != self.dim:
            raise RadsearchError(f"vector width {vectors.shape[1]} does not match index width {self.dim}")
        self.index.add_with_ids(vectors, np.asarray(ids, dtype=np.int64))
        self._gpu = self._lists = None
        self.version += 1

    def remove(self, ids: np.ndarray) -> int:
        """Remove ids in place (Flat, IVF); HNSW cannot, so its graph is rebuilt from its own stored vectors
        without them (the trained quantiser, if any, is kept: re-encoding a decoded vector gives its code)."""
        self._gpu = self._lists = None
        self.version += 1
        ids = np.asarray(ids, dtype=np.int64)
        if not isinstance(self._inner(), faiss.IndexHNSW):
            return int(self.index.remove_ids(faiss.IDSelectorBatch(ids)))
        present = self.ids()
        keep = ~np.isin(present, ids)
        if keep.all():
            return 0
        vectors = self.index.index.reconstruct_n(0, self.ntotal)  # rows in the order of id_map
        fresh = faiss.clone_index(self.index)
        fresh.reset()
        if keep.any():
            fresh.add_with_ids(np.ascontiguousarray(vectors[keep]), present[keep])
        self.index = fresh
        return int((~keep).sum())

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None,
               exhaustive: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), each (n, k); ids are -1 where fewer than k vectors are eligible.

        `allowed` restricts the search to those ids inside FAISS, so a filter never shortens
        the result list below k while k matches exist. An inverted-file index probes the lists nearest the
        query among those holding an allowed id (ivf_lists), more of them when that comes up short, and with
        `exhaustive` every list holding one.
        """
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if self.ntotal == 0:
            return np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64)
        k = max(1, min(k, self.ntotal))
        if allowed is None and (gpu := self._on_gpu()) is not None:
            return gpu.search(queries, min(k, GPU_MAX_K))  # GPU FAISS takes no id selector: unfiltered only
        inner = self._inner()
        selector = _selector(allowed) if allowed is not None and not isinstance(inner, faiss.IndexIVF) else None
        if isinstance(inner, faiss.IndexHNSW):
            params = faiss.SearchParametersHNSW(sel=selector, efSearch=max(HNSW_EF_SEARCH, 2 * k))
        elif isinstance(inner, faiss.IndexIVF):
            if allowed is None:  # a deep search (an over-fetch of hundreds) probes sqrt(k/10) times the lists
                nprobe = min(inner.nlist, math.ceil(IVF_NPROBE * math.sqrt(max(k, IVF_DEPTH) / IVF_DEPTH)))
                return self.index.search(queries, k, params=faiss.SearchParametersIVF(nprobe=nprobe))
            return self._filtered_ivf(inner, queries, k, allowed, exhaustive)
        else:
            params = faiss.SearchParameters(sel=selector) if selector is not None else None
        return self.index.search(queries, k, params=params)

    def _filtered_ivf(self, ivf: faiss.IndexIVF, queries: np.ndarray, k: int, allowed: np.ndarray,
                      exhaustive: bool) -> tuple[np.ndarray, np.ndarray]:
        """Probe the lists nearest each query that hold an allowed id (at least IVF_NPROBE, and enough to hold as
        many allowed ids as an unfiltered search compares vectors), four times that while a query finds fewer
        than k, every such list when `exhaustive`."""
        if self._mapped:  # a file of an earlier radsearch, until the store rebuilds it: its ids are IDMap2's
            return self.index.search(queries, k, params=faiss.SearchParametersIVF(sel=_selector(allowed),
                                                                                  nprobe=ivf.nlist))
        if self._lists is None:
            self._lists = ListMap(ivf)
        coarse = coarse_queries(self.index, queries)
        selector = _selector(allowed)
        compared = None if exhaustive else IVF_NPROBE * self.ntotal / max(ivf.nlist, 1)
        while True:
            lists, similarities, holding = self._lists.probe(coarse, allowed, compared, IVF_NPROBE)
            scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
            ids = np.full((len(queries), k), -1, dtype=np.int64)
            if lists.shape[1]:
                params = faiss.SearchParametersIVF(sel=selector, nprobe=lists.shape[1])
                ivf.search_preassigned_c(len(coarse), faiss.swig_ptr(coarse), k, faiss.swig_ptr(lists),
                                         faiss.swig_ptr(similarities), faiss.swig_ptr(scores), faiss.swig_ptr(ids),
                                         False, params)
            if compared is None or lists.shape[1] >= holding or (ids >= 0).sum(axis=1).min() >= min(k, len(allowed)):
                return scores, ids
            compared *= 4

    def stored_vectors(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(ids, vectors) of a Flat index, as FAISS stores them; None for types that keep codes or graphs."""
        if not self.exact:
            return None
        codes = faiss.vector_to_array(self._inner().codes).view(np.float32).reshape(-1, self.dim)
        return self.ids(), codes

    def save(self, path: str | Path) -> None:
        """Atomic write: temporary file, fsync, rename. FAISS reports a failed write as a RuntimeError naming
        the C library's message; a full disk or quota becomes the OSError it was."""
        with atomic_path(path) as tmp:
            try:
                faiss.write_index(self.index, str(tmp))
            except RuntimeError as e:
                for marker, code in WRITE_ERRORS.items():
                    if marker in str(e).lower():
                        raise OSError(code, os.strerror(code), str(path)) from e
                raise
