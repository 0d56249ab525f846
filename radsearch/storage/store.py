"""A library on disk: config, catalog and vector indexes together, kept consistent.

The catalog is committed first; FAISS files may lag behind after a crash. `sync` brings each
index back in line with the catalog from the stored embeddings, so nothing is lost or doubled.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Select, select

from ..config import LibraryConfig, library_paths, read_config, write_config
from ..errors import LibraryMismatch, StorageFull
from ..imaging import PreprocessProfile
from ..privacy import Pseudonymizer, new_salt
from .catalog import KINDS, Catalog, Image, Study
from .filters import image_filter
from .vectors import VectorIndex, choose_spec, faiss_needs_no_training

DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)  # no room left: the disk, the user's quota, a file-size limit
MIN_TRAINED = 10_000  # vectors needed before an index type that trains (IVF, PQ) replaces exact search

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


class LibraryStore:
    """Config + catalog + one VectorIndex per kind (images, reports, report sentences)."""

    def __init__(self, root: str | Path, config: LibraryConfig) -> None:
        self.root = Path(root).resolve()
        self.paths = library_paths(self.root)
        self.config = config
        self.catalog = Catalog(self.database_url)
        self.pseudonymise = Pseudonymizer(config.pseudonym_salt, config.keep_identifiers)
        self._vectors: dict[str, VectorIndex] = {}
        self._on_disk: dict[str, tuple[int, int, int] | None] = {}  # file identity each loaded index came from

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

    def image_filter(self, where: dict[str, Any] | None) -> Select:
        """SELECT of the image ids matching `where` (storage.filters), identifiers matched by pseudonym."""
        return image_filter(where, self.pseudonymise)

    @property
    def database_url(self) -> str:
        return self.config.database_url or f"sqlite:///{self.paths['catalog']}"

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
        return self.paths["vectors"] / f"{kind}.faiss"

    def vectors(self, kind: str) -> VectorIndex:
        """The in-memory index of a kind, loaded and reconciled with the catalog on first use.

        When the index type the library should use has changed (an "auto" library grew past
        vectors.FLAT_LIMIT, or the file is missing or untrained), it is rebuilt from the catalog.
        """
        if kind in self._vectors and self._on_disk.get(kind) != self._file_identity(kind):
            log.info("%s index changed on disk (another process saved it); reloading", kind)
            del self._vectors[kind]  # a long-running reader picks up what the indexer added
        if kind not in self._vectors:
            self._on_disk[kind] = self._file_identity(kind)
            spec = self.index_spec(kind)
            index = VectorIndex.load(self.vector_path(kind), self.config.embed_dim, spec)
            wanted_exact = spec == "Flat"
            if not index.is_trained or (index.ntotal and index.exact != wanted_exact):
                log.info("%s index: building %s from the catalog", kind, spec)
                self._rebuild(kind)
            else:
                self._vectors[kind] = index
                self.sync(kind)
        return self._vectors[kind]

    def _file_identity(self, kind: str) -> tuple[int, int, int] | None:
        """(inode, mtime, size) of a kind's FAISS file: it changes with every atomic save, by any process."""
        try:
            stat = os.stat(self.vector_path(kind))
        except FileNotFoundError:
            return None
        return stat.st_ino, stat.st_mtime_ns, stat.st_size

    def index_spec(self, kind: str) -> str:
        """The FAISS factory string this kind uses now (config.index_spec, or chosen by size for "auto")."""
        n = self.catalog.count(kind)
        spec = choose_spec(self.config.index_spec, n)
        if n < MIN_TRAINED and not faiss_needs_no_training(spec, self.config.embed_dim):
            return "Flat"  # too few vectors to train IVF/PQ well: exact search until there are enough
        return spec

    def _rebuild(self, kind: str) -> int:
        ids, vectors = self.catalog.embeddings(kind, None, self.config.embed_dim)
        index = VectorIndex.build(self.config.embed_dim, self.index_spec(kind), ids, vectors)
        self._vectors[kind] = index
        self.save_vectors(kind)
        return index.ntotal

    def sync(self, kind: str) -> int:
        """Add vectors the catalog has and FAISS lacks, drop ones it no longer has; returns changes."""
        index = self._vectors[kind]
        in_sql = self.catalog.ids(kind)
        if index.ntotal == len(in_sql) and np.array_equal(np.sort(index.ids()), np.sort(in_sql)):
            return 0
        in_faiss = index.ids()
        extra = np.setdiff1d(in_faiss, in_sql)
        missing = np.setdiff1d(in_sql, in_faiss)
        if len(extra):
            try:
                index.remove(extra)
            except NotImplementedError:  # HNSW cannot delete: rebuild from the catalog
                return self._rebuild(kind)
        if len(missing):
            ids, vectors = self.catalog.embeddings(kind, missing.tolist(), self.config.embed_dim)
            index.add(ids, vectors)
        log.info("%s index re-synced with the catalog: +%d -%d", kind, len(missing), len(extra))
        try:
            self.save_vectors(kind)
        except (OSError, StorageFull) as e:  # a read-only or full library: searches still see the synced index
            log.warning("%s index re-synced in memory only: %s", kind, e)
        return len(missing) + len(extra)

    def remove_images(self, ids: Sequence[int]) -> dict[str, int]:
        """Delete images (labels, thumbnails, vectors) and the series, studies and reports left empty.

        The catalog commits first; FAISS follows, and a crash in between is repaired by `sync` on the
        next open, like any other lag of the derived indexes.
        """
        ids = sorted({int(i) for i in ids})
        removed = {"images": 0, "reports": 0, "studies": 0}
        report_ids: list[int] = []
        sentence_ids: list[int] = []
        with self.catalog.session() as s:
            images = s.scalars(select(Image).where(Image.id.in_(ids))).all() if ids else []
            touched = {image.study_id for image in images}
            for image in images:
                s.delete(image)
            s.flush()
            for study in s.scalars(select(Study).where(Study.id.in_(touched))):
                for series in [se for se in study.series if not se.images]:
                    s.delete(series)
                if not study.images:
                    if study.report is not None:
                        report_ids.append(study.report.id)
                        sentence_ids.extend(sentence.id for sentence in study.report.sentences)
                        s.delete(study.report)
                    s.flush()
                    s.delete(study)
                    removed["studies"] += 1
            removed["images"], removed["reports"] = len(images), len(report_ids)
        for kind, gone in (("images", ids), ("reports", report_ids), ("sentences", sentence_ids)):
            if gone:  # loading syncs with the catalog, which already dropped them; remove covers a loaded index
                try:
                    self.vectors(kind).remove(np.array(gone, dtype=np.int64))
                    self.save_vectors(kind)
                except NotImplementedError:  # HNSW cannot delete: rebuild from the catalog
                    self._rebuild(kind)
        for image_id in ids:
            (self.paths["thumbs"] / f"{image_id}.png").unlink(missing_ok=True)
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
            except RuntimeError as e:  # FAISS reports a failed write as a RuntimeError naming the errno text
                if "No space left" in str(e) or "File too large" in str(e) or "quota" in str(e).lower():
                    raise StorageFull(f"no space left to save {self.vector_path(name)}: free some space and run "
                                      "the command again (the catalog holds every vector; nothing is lost)") from e
                raise
            self._on_disk[name] = self._file_identity(name)

    def counts(self) -> dict[str, int]:
        return {kind: self.catalog.count(kind) for kind in KINDS}
