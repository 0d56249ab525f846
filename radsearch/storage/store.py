"""A library on disk: config, catalog and vector indexes together, kept consistent.

The catalog is committed first; FAISS files may lag behind after a crash. `sync` brings each
index back in line with the catalog from the stored embeddings, so nothing is lost or doubled.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..config import LibraryConfig, budget_bytes, read_config, write_config
from ..errors import LibraryMismatch, StorageFull
from ..files import LibraryPaths
from ..imaging import PreprocessProfile
from ..privacy import Pseudonymizer, new_salt
from .catalog import Catalog
from .filter_columns import FilterColumns
from .rows import RemovedRows
from .schema import KINDS
from .vectors import VectorIndex, vector_backend
from .workspace import Workspace

DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)  # no room left: the disk, the user's quota, a file-size limit

log = logging.getLogger(__name__)


@contextmanager
def disk_full_is_reported(library: str | Path) -> Iterator[None]:
    """Turn an out-of-space OSError raised inside into StorageFull naming the library and the file."""
    try:
        yield
    except OSError as e:
        if e.errno not in DISK_FULL:
            raise
        raise StorageFull(f"no space left writing {e.filename or library} ({e.strerror}): free some space and run "
                          f"the command again; everything {library} committed before is kept") from e


def _fingerprint(ids: np.ndarray) -> tuple[int, int, int]:
    """(count, sum, max) of ids, as Catalog.id_fingerprint gives them for the catalog's."""
    return len(ids), int(ids.sum()) if len(ids) else 0, int(ids.max()) if len(ids) else 0


class LibraryStore:
    """Config + catalog + one VectorIndex per kind (images, reports, report sentences)."""

    def __init__(self, root: str | Path, config: LibraryConfig) -> None:
        self.root = Path(root).resolve()
        self.paths = LibraryPaths(self.root)
        self.config = config
        self.pseudonymise = Pseudonymizer(config.pseudonym_salt, config.keep_identifiers)
        self.catalog = Catalog(self.database_url, self.pseudonymise)
        self.workspace = Workspace(self.catalog)  # collections and relevance marks
        self.backend = vector_backend(config.vector_backend)
        self._vectors: dict[str, VectorIndex] = {}
        self._on_disk: dict[str, tuple[int, int, int] | None] = {}  # file identity each loaded index came from
        self._filter_columns: FilterColumns | None = None
        self._filtered_index: tuple[weakref.ref, int] | None = None  # (image index, its version) they mirror
        self._filter_lock = threading.Lock()

    @classmethod
    def open(cls, root: str | Path) -> LibraryStore:
        return cls(root, read_config(root))

    @classmethod
    def create(cls, root: str | Path, config: LibraryConfig) -> LibraryStore:
        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        if not config.pseudonym_salt:
            config.pseudonym_salt = new_salt()  # each library its own: pseudonyms do not link across libraries
        write_config(root, config)
        return cls(root, config)

    @property
    def database_url(self) -> str:
        return self.config.database_url or f"sqlite:///{self.paths.catalog}"

    @property
    def model_path(self) -> Path:
        path = Path(self.config.model_dir)
        return path if path.is_absolute() else self.root / path

    def check_model(self, model_id: str, profile_hash: str) -> None:
        """Refuse to mix vectors from different weights or preprocessing in one library."""
        if self.config.model_id and model_id != self.config.model_id:
            raise LibraryMismatch(
                f"library {self.root} was indexed with model {self.config.model_id}, not {model_id}; "
                "index into a new library or re-index this one with its own model"
            )
        ours = PreprocessProfile.from_dict(self.config.profile).hash if self.config.profile else ""
        if ours and profile_hash != ours:
            raise LibraryMismatch(
                f"library {self.root} uses preprocessing profile {ours}, "
                f"the model uses {profile_hash}; re-index with a matching model"
            )

    def vector_path(self, kind: str) -> Path:
        return self.paths.vector_index(kind)

    def vectors(self, kind: str) -> VectorIndex:
        """The in-memory index of a kind, loaded and reconciled with the catalog on first use.

        When the index type the library should use has changed (an "auto" library grew past
        the backend's size limit, or the file is missing or untrained), it is rebuilt from the catalog.
        """
        if kind in self._vectors and self._on_disk.get(kind) != self._file_identity(kind):
            log.info("%s index changed on disk (another process saved it); reloading", kind)
            del self._vectors[kind]  # a long-running reader picks up what the indexer added
        if kind not in self._vectors:
            self._on_disk[kind] = self._file_identity(kind)
            spec = self.index_spec(kind)
            index = self.backend.load(self.vector_path(kind), self.config.embed_dim, spec)
            if not index.is_trained or not index.has_type(spec):  # an empty one too: it costs nothing
                log.info("%s index: building %s from the catalog", kind, spec)
                self._rebuild(kind, must_save=False)
            else:
                self._vectors[kind] = index
                self.sync(kind)
        return self._vectors[kind]

    def filter_columns(self) -> FilterColumns:
        """The filterable columns of the indexed images, in memory and in step with the image index as it is now
        (after what this process added or removed, or another one saved)."""
        index = self.vectors("images")
        with self._filter_lock:
            if self._filter_columns is None:
                self._filter_columns = FilterColumns(self.catalog.column_values, self.catalog.label_pairs,
                                                     self.catalog.orders_text_by_code_point())
            mirrored = self._filtered_index
            if mirrored is None or mirrored[0]() is not index or mirrored[1] != index.version:
                self._filter_columns.sync(index.ids())
                self._filtered_index = (weakref.ref(index), index.version)
            return self._filter_columns

    def _file_identity(self, kind: str) -> tuple[int, int, int] | None:
        """(inode, mtime, size) of a kind's FAISS file: it changes with every atomic save, by any process."""
        try:
            stat = os.stat(self.vector_path(kind))
        except FileNotFoundError:
            return None
        return stat.st_ino, stat.st_mtime_ns, stat.st_size

    def index_spec(self, kind: str) -> str:
        """The index type this kind uses now: config.index_spec, or for "auto" chosen by size within the kind's share
        of the memory budget (the backend decides)."""
        counts = self.counts()
        share = counts[kind] / max(sum(counts.values()), 1)  # the kinds share the budget by their number of vectors
        budget = int(budget_bytes(self.config.memory_budget) * share)
        return self.backend.choose_spec(self.config.index_spec, counts[kind], self.config.embed_dim, budget)

    def _rebuild(self, kind: str, must_save: bool = True) -> int:
        """Build a kind's index from the catalog's embeddings and save it; a reader (must_save=False) keeps
        searching the rebuilt index when the library cannot be written (read-only, or a full disk)."""
        ids, vectors = self.catalog.embeddings(kind, None, self.config.embed_dim)
        index = self.backend.build(self.config.embed_dim, self.index_spec(kind), ids, vectors)
        self._vectors[kind] = index
        try:
            self.save_vectors(kind)
        except (OSError, StorageFull) as e:
            if must_save:
                raise
            log.warning("%s index rebuilt in memory only: %s", kind, e)
        return index.ntotal

    def sync(self, kind: str) -> int:
        """Add vectors the catalog has and FAISS lacks, drop ones it no longer has; returns changes."""
        index = self._vectors[kind]
        in_faiss = index.ids()
        if self.catalog.id_fingerprint(kind) == _fingerprint(in_faiss):
            return 0  # new ids are handed out above the largest in use, so removals and additions cannot leave all
            # three unchanged (the catalog's 10^6 ids took 1.4 s to read; these 0.2 s)
        in_sql = self.catalog.ids(kind)
        if index.ntotal == len(in_sql) and np.array_equal(np.sort(in_faiss), np.sort(in_sql)):
            return 0
        extra = np.setdiff1d(in_faiss, in_sql)
        missing = np.setdiff1d(in_sql, in_faiss)
        if len(extra):
            index.remove(extra)
        if len(missing):
            ids, vectors = self.catalog.embeddings(kind, missing.tolist(), self.config.embed_dim)
            index.add(ids, vectors)
        log.info("%s index re-synced with the catalog: +%d -%d", kind, len(missing), len(extra))
        try:
            self.save_vectors(kind)
        except (OSError, StorageFull) as e:  # a read-only or full library: searches still see the synced index
            log.warning("%s index re-synced in memory only: %s", kind, e)
        return len(missing) + len(extra)

    def remove_images(self, ids: Sequence[int]) -> RemovedRows:
        """Delete images (labels, thumbnails, vectors) and the series, studies and reports left empty.

        The catalog commits first; the indexes follow, and a crash in between is repaired by `sync` on
        the next open, like any other lag of the derived indexes.
        """
        removed = self.catalog.delete_images(ids)
        for kind, gone in (("images", removed.images), ("reports", removed.reports),
                           ("sentences", removed.sentences)):
            if gone:  # loading syncs with the catalog, which already dropped them; remove covers a loaded index
                self.vectors(kind).remove(np.array(gone, dtype=np.int64))
                self.save_vectors(kind)
        for image_id in removed.images:
            self.paths.thumbnail(image_id).unlink(missing_ok=True)
        return removed

    def rebuild_vectors(self) -> dict[str, int]:
        """Re-create every FAISS index from the catalog's stored embeddings (no encoder needed)."""
        return {kind: self._rebuild(kind) for kind in KINDS}

    def save_vectors(self, kind: str | None = None) -> None:
        """Write the loaded indexes (atomically); a full disk raises StorageFull and leaves the old files."""
        for name in [kind] if kind else list(self._vectors):
            try:
                self._vectors[name].save(self.vector_path(name))
            except OSError as e:
                if e.errno in DISK_FULL:
                    raise StorageFull(f"no space left to save {self.vector_path(name)}: free some space and run "
                                      "the command again (the catalog holds every vector; nothing is lost)") from e
                raise
            self._on_disk[name] = self._file_identity(name)

    def counts(self) -> dict[str, int]:
        return {kind: self.catalog.count(kind) for kind in KINDS}
