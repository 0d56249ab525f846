"""The catalog: every SQL query radsearch runs, behind named methods that take and return plain values
and the dataclasses of storage.rows. SQLite by default (WAL), PostgreSQL by URL.

Nothing outside radsearch.storage imports SQLAlchemy; callers ask the Catalog by name
("the images of these files", "the report of these studies") and get typed rows back.
"""

from __future__ import annotations

import itertools
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Select, create_engine, delete, event, func, insert, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from ..columns import COLUMNS, FILTERABLE
from ..errors import CatalogUnavailable, LibraryCorrupt, RadsearchError, StorageFull
from .database import parse, safe
from .filters import Condition, filter_query, parse_filter
from .migrations import upgrade_catalog
from .rows import (
    AuditRecord,
    CopyRecord,
    FailureRecord,
    FileState,
    ImageLocation,
    ImageRecord,
    NewImage,
    NewReport,
    RemovedRows,
    ReportRecord,
    RunRecord,
    SentenceRecord,
    WrittenBatch,
)
from .schema import (
    KINDS,
    AuditEntry,
    Copy,
    Failure,
    Image,
    IndexRun,
    Label,
    Prediction,
    Report,
    Sentence,
    Series,
    Study,
)

BUSY_TIMEOUT_S = 30
CHUNK = 500  # ids per IN (...) list: few enough bound parameters for every database and SQLite build
CORRUPT_MARKERS = ("file is not a database", "database disk image is malformed", "malformed database schema")
FULL_MARKERS = ("database or disk is full", "no space left on device", "could not extend file", "disk quota exceeded")
READ_ONLY_MARKERS = ("attempt to write a readonly database", "read-only transaction")
METADATA_COLUMNS = (*(c.name for c in COLUMNS), "frame")  # what a hit's metadata holds, beside study facts


def chunks(values: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    """Consecutive slices of at most `size` values (IN lists kept short)."""
    for start in range(0, len(values), size):
        yield values[start:start + size]


def to_blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def from_blobs(blobs: Sequence[bytes], dim: int) -> np.ndarray:
    if not blobs:
        return np.zeros((0, dim), dtype=np.float32)
    return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), dim).copy()


def _where(url: str) -> str:
    """How messages name a catalog: the SQLite file, or the server URL without its password."""
    parsed = parse(url)
    return str(parsed.database) if parsed.drivername.startswith("sqlite") else safe(url)


def translated(error: BaseException, url: str) -> RadsearchError | None:
    """A damaged catalog, a full disk or a read-only catalog as an error that says what to do; None otherwise."""
    message = str(error).lower()
    where = _where(url)
    if any(marker in message for marker in CORRUPT_MARKERS):
        return LibraryCorrupt(f"the catalog {where} is damaged ({error}); it is the library's source of truth and "
                              "cannot be rebuilt: restore it from a backup (the FAISS indexes and thumbnails can "
                              "then be rebuilt with `radsearch repair`)")
    if any(marker in message for marker in FULL_MARKERS):
        return StorageFull(f"no space left for the catalog {where} ({error}); free some space and run the "
                           "command again: everything committed before is kept")
    if any(marker in message for marker in READ_ONLY_MARKERS):
        return CatalogUnavailable(f"the catalog {where} cannot be written ({error}); this radsearch needs to "
                                  "upgrade or write it: run radsearch once as a user who may write the library")
    return None


def _translate_errors(engine: Engine, url: str) -> None:
    """Turn a damaged catalog or a full disk, wherever SQL meets it, into errors that say what to do."""

    @event.listens_for(engine, "handle_error")
    def _translate(context) -> Exception | None:  # noqa: ANN001 - sqlalchemy ExceptionContext
        return translated(context.original_exception, url)


def _write_ahead_log(cursor) -> None:  # noqa: ANN001 - a sqlite3 cursor
    """Switch a SQLite catalog to WAL (readers never wait for the writer). The switch needs the file to itself,
    and SQLite does not wait for that: while another process writes (migrates a new catalog), retry."""
    if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
        return
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def connect(url: str) -> Engine:
    """An engine with SQLite set up for concurrent readers (WAL) and real foreign keys, its schema
    brought up to date by the migrations (a new catalog is made by them too)."""
    parsed = parse(url)
    # SQLite: wait up to BUSY_TIMEOUT_S for a writer (the indexer, an audit row) instead of failing a search
    engine = create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_S} if parsed.drivername == "sqlite" else {})
    _translate_errors(engine, url)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001
            cursor = dbapi_connection.cursor()
            _write_ahead_log(cursor)
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()
    try:
        upgrade_catalog(engine, _where(url))
    except DBAPIError as e:  # raised by the migration's own connection, which has no handle_error hook
        engine.dispose()
        raise (translated(e.orig or e, url) or CatalogUnavailable(
            f"cannot open the catalog at {safe(url)}: {str(e.orig or e).strip()}; check that the server runs "
            "and the URL is right")) from e
    except BaseException:
        engine.dispose()
        raise
    return engine


@dataclass(frozen=True)
class ImageFilter:
    """A metadata filter compiled for this catalog (storage.filters); pass it back to the catalog's methods."""

    where: dict[str, Any]
    query: Select  # SELECT images.id of the matching rows
    conditions: tuple[Condition, ...] = ()  # the same filter parsed, for the in-memory filter columns


class Catalog:
    """The library's SQL database and the named queries on it."""

    def __init__(self, url: str, pseudonymise: Callable[[object], str | None] | None = None) -> None:
        self.url = url
        self.engine = connect(url)
        self.pseudonymise = pseudonymise
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed on success, rolled back on any error (for storage and its tests)."""
        with self._sessions() as session, session.begin():
            yield session

    # -- counts and ids --------------------------------------------------------------------------
    def count(self, kind: str = "images") -> int:
        with self._sessions() as s:
            return int(s.scalar(select(func.count()).select_from(KINDS[kind])) or 0)

    def ids(self, kind: str = "images") -> np.ndarray:
        return self._id_array(select(KINDS[kind].id))

    def _id_array(self, query: Select) -> np.ndarray:
        """The ids a one-column query returns, as the driver hands them over: SQLAlchemy's row objects cost
        about 2 us per id (2.2 s for the 10^6 ids a library checks its index against when it opens)."""
        with self.engine.connect() as conn:
            rows = conn.execute(query).cursor.fetchall()
        return np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int64, count=len(rows))

    def id_fingerprint(self, kind: str = "images") -> tuple[int, int, int]:
        """(count, sum, max) of a kind's ids: one pass over an index, not 10^6 ids to Python."""
        table = KINDS[kind]
        with self._sessions() as s:
            count, total, top = s.execute(select(func.count(), func.sum(table.id), func.max(table.id))).one()
        return int(count or 0), int(total or 0), int(top or 0)

    def embeddings(self, kind: str, ids: Sequence[int] | None, dim: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of stored embeddings, ordered by id; all of them when ids is None."""
        table = KINDS[kind]
        query = select(table.id, table.embedding).order_by(table.id)
        rows: list = []
        with self._sessions() as s:
            if ids is None:
                rows = list(s.execute(query))
            else:
                for chunk in chunks([int(i) for i in ids]):
                    rows.extend(s.execute(query.where(table.id.in_(chunk))))
        rows.sort(key=lambda r: r[0])
        return np.array([r[0] for r in rows], dtype=np.int64), from_blobs([r[1] for r in rows], dim)

    # -- filters ---------------------------------------------------------------------------------
    def filter(self, where: dict[str, Any]) -> ImageFilter:
        """Compile a metadata filter (identifiers matched by pseudonym); InvalidFilter when it is malformed."""
        conditions = parse_filter(where, self.pseudonymise)
        return ImageFilter(dict(where), filter_query(conditions), conditions)

    def column_values(self, column: str, ids: np.ndarray | None = None) -> tuple[np.ndarray, list]:
        """(image ids, values) of one filterable registry column, for `ids` (every image when None), as the driver
        returns them: the in-memory filter columns (filter_columns.py) read each column once this way."""
        if column not in FILTERABLE:
            raise ValueError(f"{column!r} is not a filterable column")
        return self._pairs(select(Image.id, getattr(Image, column)), Image.id, ids)

    def label_pairs(self, ids: np.ndarray | None = None) -> tuple[np.ndarray, list]:
        """(image ids, label names) of every label of the images `ids` (all images when None)."""
        return self._pairs(select(Label.image_id, Label.name), Label.image_id, ids)

    def _pairs(self, query: Select, key: Any, ids: np.ndarray | None) -> tuple[np.ndarray, list]:
        rows: list = []
        with self.engine.connect() as conn:
            if ids is None:
                rows = conn.execute(query).cursor.fetchall()
            elif len(ids) > 8 * CHUNK:  # many new ids: one range, trimmed here, beats thousands of IN lists
                wanted = np.asarray(ids, dtype=np.int64)
                span = conn.execute(query.where(key >= int(wanted.min()), key <= int(wanted.max()))).cursor.fetchall()
                held = np.isin(np.fromiter((r[0] for r in span), dtype=np.int64, count=len(span)), wanted)
                rows = [r for r, h in zip(span, held) if h]
            else:
                for chunk in chunks([int(i) for i in ids]):
                    rows.extend(conn.execute(query.where(key.in_(chunk))).cursor.fetchall())
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)), [r[1] for r in rows]

    def orders_text_by_code_point(self) -> bool:
        """Whether text comparisons (a date range) order as Python's str does: SQLite's default binary collation
        does; PostgreSQL only with the C collation (en_US and the like order case and punctuation otherwise)."""
        if self.dialect != "postgresql":
            return True
        with self.engine.connect() as conn:
            collation = conn.execute(text("SELECT datcollate FROM pg_database WHERE datname = current_database()"))
            name = str(collation.scalar() or "")
        return name in ("C", "POSIX") or name.startswith("C.")

    def matching_ids(self, flt: ImageFilter | None, among: Sequence[int] | None = None) -> list[int]:
        """Ids of the images a filter matches (all images when None), only among `among` when given."""
        query = flt.query if flt is not None else select(Image.id)
        if among is None:  # sorted here: ORDER BY id made SQLite walk the primary key instead of the filter's index
            return np.sort(self._id_array(query)).tolist()
        with self._sessions() as s:
            found: list[int] = []
            for chunk in chunks([int(i) for i in among]):
                found.extend(s.scalars(query.where(Image.id.in_(chunk))))
            return found

    # -- images ----------------------------------------------------------------------------------
    def get(self, ids: Sequence[int] | None, columns: Iterable[str] | None = None, labels: bool = True,
            report: bool = True) -> dict[int, ImageRecord]:
        """Image id -> ImageRecord: path, frame, study, the metadata `columns` (default: every registry
        column), labels and the study's report text. Missing ids are left out; ids=None is every image."""
        asked = list(METADATA_COLUMNS if columns is None else columns)
        wanted = [c for c in asked if c != "frame"]  # selected once, as a fixed field
        fields = [Image.id, Image.path, Image.frame, Image.width, Image.height, Image.extra, Study.study_key,
                  Study.accession, Study.study_uid, Series.series_uid, *(getattr(Image, c) for c in wanted)]
        if report:
            fields += [Report.id, Report.text]
        query = (select(*fields).join(Study, Image.study_id == Study.id).join(Series, Image.series_id == Series.id))
        if report:
            query = query.outerjoin(Report, Report.study_id == Study.id)
        out: dict[int, ImageRecord] = {}
        found_labels: dict[int, list[str]] = {}
        with self._sessions() as s:
            batches = [None] if ids is None else list(chunks([int(i) for i in ids]))
            for chunk in batches:
                part = query if chunk is None else query.where(Image.id.in_(chunk))
                for row in s.execute(part):
                    values = tuple(row)
                    metadata = dict(zip(wanted, values[10:10 + len(wanted)]))
                    if "frame" in asked:
                        metadata["frame"] = values[2] or 0
                    metadata |= {"study_key": row.study_key, "accession": row.accession, "study_uid": row.study_uid,
                                 "series_uid": row.series_uid, "width": row.width, "height": row.height,
                                 "extra": json.loads(row.extra) if row.extra else {}}
                    out[row[0]] = (values, metadata)
                if labels:
                    label_query = select(Label.image_id, Label.name)
                    if chunk is not None:
                        label_query = label_query.where(Label.image_id.in_(chunk))
                    for image_id, name in s.execute(label_query):
                        found_labels.setdefault(image_id, []).append(name)
        records = {}
        for image_id, (values, metadata) in out.items():
            report_id, report_text = (values[-2], values[-1]) if report else (None, None)
            records[image_id] = ImageRecord(id=image_id, path=values[1], frame=values[2] or 0,
                                            study_key=metadata["study_key"], metadata=metadata,
                                            labels=sorted(found_labels.get(image_id, [])),
                                            report_id=report_id, report=report_text)
        return records

    def image(self, image_id: int) -> ImageRecord:
        """One image's record; KeyError naming the id when it is not in the catalog."""
        record = self.get([image_id]).get(int(image_id))
        if record is None:
            raise KeyError(f"no image with id {image_id} in the catalog")
        return record

    def locations(self, ids: Sequence[int] | None = None) -> list[ImageLocation]:
        """(id, path, frame) of these images (every image when None), by id."""
        query = select(Image.id, Image.path, Image.frame).order_by(Image.id)
        with self._sessions() as s:
            if ids is None:
                rows = list(s.execute(query))
            else:
                rows = [r for chunk in chunks([int(i) for i in ids])
                        for r in s.execute(query.where(Image.id.in_(chunk)))]
        return [ImageLocation(int(i), path, int(frame or 0)) for i, path, frame in sorted(rows)]

    def values(self, columns: Sequence[str], flt: ImageFilter | None = None) -> list[dict[str, Any]]:
        """{"id", "path", each column} of every image the filter matches (all without one), ordered by id."""
        query = select(Image.id, Image.path, *(getattr(Image, c) for c in columns)).order_by(Image.id)
        if flt is not None:
            query = query.where(Image.id.in_(flt.query))
        with self._sessions() as s:
            return [dict(zip(("id", "path", *columns), row)) for row in s.execute(query)]

    def header(self, image_id: int) -> dict[str, Any]:
        """The stored DICOM header (DICOM JSON); {} for non-DICOM images, KeyError for an unknown id."""
        with self._sessions() as s:
            found = s.execute(select(Image.id, Image.header).where(Image.id == int(image_id))).first()
        if found is None:
            raise KeyError(f"no image with id {image_id} in the catalog")
        return json.loads(found.header) if found.header else {}

    def image_by_hash(self, content_hash: str) -> int | None:
        """The id of an indexed file's image (its first frame), or None."""
        with self._sessions() as s:
            return s.scalar(select(Image.id).where(Image.content_hash == content_hash).order_by(Image.frame).limit(1))

    def first_image_of(self, study_key: str) -> int | None:
        """The id of a study's first image, or None."""
        with self._sessions() as s:
            return s.scalar(select(Image.id).join(Study, Image.study_id == Study.id)
                            .where(Study.study_key == study_key).order_by(Image.id).limit(1))

    def images_of_study(self, study_key: str) -> list[int]:
        """The ids of a study's images (its views), in index order."""
        with self._sessions() as s:
            return list(s.scalars(select(Image.id).join(Study, Image.study_id == Study.id)
                                  .where(Study.study_key == study_key).order_by(Image.id)))

    def studies_of_patient(self, patient_id: str) -> list[dict[str, Any]]:
        """A patient's studies (by pseudonym) with their date, image count and first image, oldest first."""
        query = (select(Study.study_key, Study.study_date, func.count(Image.id), func.min(Image.id))
                 .join(Image, Image.study_id == Study.id).where(Study.patient_id == patient_id)
                 .group_by(Study.id, Study.study_key, Study.study_date).order_by(Study.study_date, Study.study_key))
        with self._sessions() as s:
            return [{"study_key": key, "study_date": day, "images": int(n), "first_image": int(first)}
                    for key, day, n, first in s.execute(query)]

    def images_of_instance(self, sop_uid: str) -> list[int]:
        """The ids of the frames indexed from the DICOM instance with this SOP Instance UID."""
        with self._sessions() as s:
            return list(s.scalars(select(Image.id).where(Image.sop_uid == sop_uid).order_by(Image.id)))

    def known_instances(self, sop_uids: Iterable[str]) -> set[str]:
        """Which of these SOP Instance UIDs are indexed already (a PACS sync skips them unread)."""
        found: set[str] = set()
        with self._sessions() as s:
            for chunk in chunks(sorted(set(sop_uids))):
                found.update(s.scalars(select(Image.sop_uid).where(Image.sop_uid.in_(chunk))))
        return found

    def images_of_study_uid(self, study_uid: str) -> list[int]:
        """The ids of the images of the study with this Study Instance UID, in index order."""
        with self._sessions() as s:
            return list(s.scalars(select(Image.id).join(Study, Image.study_id == Study.id)
                                  .where(Study.study_uid == study_uid).order_by(Image.id)))

    def same_case(self, image_id: int) -> frozenset[int]:
        """Ids of every image sharing a patient or a study with this one (itself included)."""
        with self._sessions() as s:
            row = s.execute(select(Image.study_id, Image.patient_id).where(Image.id == int(image_id))).first()
            if row is None:
                return frozenset()
            same = Image.study_id == row.study_id
            if row.patient_id:
                same = same | (Image.patient_id == row.patient_id)
            return frozenset(s.scalars(select(Image.id).where(same)))

    def labels_of(self, ids: Sequence[int]) -> dict[int, set[str]]:
        """Image id -> its labels (images without labels are left out)."""
        out: dict[int, set[str]] = {}
        with self._sessions() as s:
            for chunk in chunks([int(i) for i in ids]):
                for image_id, name in s.execute(select(Label.image_id, Label.name).where(Label.image_id.in_(chunk))):
                    out.setdefault(image_id, set()).add(name)
        return out

    def body_parts_labelled(self, labels: Sequence[str] | None = None) -> list[str]:
        """Body parts of the images carrying any of these labels (any label when None)."""
        query = select(Image.body_part).join(Label, Label.image_id == Image.id).distinct()
        if labels:
            query = query.where(Label.name.in_(list(labels)))
        with self._sessions() as s:
            return sorted(p for p in s.scalars(query) if p)

    def distinct(self, column: str) -> list[str]:
        """Distinct non-empty values of an image column (for filter choices)."""
        with self._sessions() as s:
            values = s.scalars(select(getattr(Image, column)).distinct())
            return sorted(v for v in values if v not in (None, ""))

    def value_counts(self, column: str) -> dict[str, int]:
        """Images per value of an image column, or per label for column="labels"."""
        with self._sessions() as s:
            if column == "labels":
                query = select(Label.name, func.count()).group_by(Label.name)
            else:
                field = getattr(Image, column)
                query = select(field, func.count()).group_by(field)
            return {str(value) if value not in (None, "") else "(none)": int(n) for value, n in s.execute(query)}

    # -- files seen by the indexer ---------------------------------------------------------------
    def file_states(self) -> dict[str, FileState]:
        """Stored path -> (size, mtime in ns, content hash) of every indexed file."""
        with self._sessions() as s:
            return {path: FileState(size, mtime, digest) for path, size, mtime, digest in s.execute(
                select(Image.path, Image.file_size, Image.file_mtime_ns, Image.content_hash).distinct())}

    def known_hashes(self, hashes: Iterable[str]) -> set[str]:
        found: set[str] = set()
        with self._sessions() as s:
            for chunk in chunks(list(hashes)):
                found.update(s.scalars(select(Image.content_hash).where(Image.content_hash.in_(chunk))))
        return found

    def image_ids_of(self, files: Sequence[tuple[str, str]]) -> list[int]:
        """Ids of the images stored from these (path, content hash) pairs."""
        ids: list[int] = []
        with self._sessions() as s:
            for path, digest in files:
                ids.extend(s.scalars(select(Image.id).where(Image.path == path, Image.content_hash == digest)))
        return ids

    def content_keys(self, ids: Sequence[int]) -> dict[int, str]:
        """Image id -> "content hash:frame", what identifies its pixels across removals and re-indexing."""
        out: dict[int, str] = {}
        with self._sessions() as s:
            for chunk in chunks([int(i) for i in ids]):
                query = select(Image.id, Image.content_hash, Image.frame).where(Image.id.in_(chunk))
                out.update((image_id, f"{digest}:{frame}") for image_id, digest, frame in s.execute(query))
        return out

    def update_file_stats(self, stats: dict[str, tuple[int, int]]) -> None:
        """Record new (size, mtime) for files whose content was re-hashed and found unchanged."""
        with self.session() as s:
            for path, (size, mtime) in stats.items():
                s.execute(update(Image).where(Image.path == path).values(file_size=size, file_mtime_ns=mtime))

    # -- writing a batch -------------------------------------------------------------------------
    def studies_with_reports(self, study_keys: Sequence[str]) -> set[str]:
        """Which of these studies already have a stored report."""
        found: set[str] = set()
        with self._sessions() as s:
            for chunk in chunks(list(study_keys)):
                found.update(s.scalars(select(Study.study_key).join(Report, Report.study_id == Study.id)
                                       .where(Study.study_key.in_(chunk))))
        return found

    def study_keys_by_uid(self, study_uids: Sequence[str]) -> dict[str, str]:
        """Study Instance UID -> the key of the stored study with it (a manifest names studies its own way)."""
        found: dict[str, str] = {}
        with self._sessions() as s:
            for chunk in chunks(sorted(set(study_uids))):
                found.update((uid, key) for uid, key in s.execute(
                    select(Study.study_uid, Study.study_key).where(Study.study_uid.in_(chunk))))
        return found

    def write_batch(self, images: Sequence[NewImage], reports: Sequence[NewReport]) -> WrittenBatch:
        """Insert studies, series, images, labels, reports and their sentences in one transaction.

        A report whose study has one already is skipped (with its sentences). Returns the new ids per
        kind with their vectors, for the vector indexes. Rows go in as multi-row INSERT ... RETURNING
        (SQLAlchemy's insertmanyvalues), not one ORM object each: 0.25 against 0.77 ms per image with reports.
        """
        dim = len(images[0].vector) if images else len(reports[0].vector) if reports else 0
        with self.session() as s:
            keys = sorted({i.study_key for i in images} | {r.study_key for r in reports})
            studies = self._keyed(s, Study.study_key, keys)
            fresh: dict[str, dict[str, Any]] = {}
            for image in images:
                if image.study_key not in studies and image.study_key not in fresh:
                    fresh[image.study_key] = {"study_key": image.study_key,
                                              "patient_id": image.columns.get("patient_id"), **image.study}
            studies |= self._inserted(s, Study, Study.study_key, list(fresh.values()))
            series_keys = sorted({i.series_key for i in images})
            series = self._keyed(s, Series.series_key, series_keys)
            new_series: dict[str, dict[str, Any]] = {}
            for image in images:
                if image.series_key not in series and image.series_key not in new_series:
                    new_series[image.series_key] = {"study_id": studies[image.study_key],
                                                    "series_key": image.series_key, **image.series}
            series |= self._inserted(s, Series, Series.series_key, list(new_series.values()))
            image_ids = self._returning_ids(s, Image, [
                {"study_id": studies[image.study_key], "series_id": series[image.series_key], "path": image.path,
                 "content_hash": image.content_hash, "frame": image.frame, "file_size": image.file_size,
                 "file_mtime_ns": image.file_mtime_ns, "width": image.width, "height": image.height,
                 "profile_hash": image.profile_hash, "extra": json.dumps(image.extra) if image.extra else None,
                 "header": json.dumps(image.header, separators=(",", ":")) if image.header else None,
                 "embedding": to_blob(image.vector), **{c.name: image.columns.get(c.name) for c in COLUMNS}}
                for image in images])
            labels = [{"image_id": image_id, "name": name}
                      for image_id, image in zip(image_ids, images) for name in image.labels]
            if labels:
                s.execute(insert(Label), labels)
            reported = set(s.scalars(select(Report.study_id).where(
                Report.study_id.in_([studies[r.study_key] for r in reports if r.study_key in studies]))))
            kept = []
            for report in reports:  # one report per study: the first of a batch wins, as a stored one does
                study_id = studies.get(report.study_key)
                if study_id is not None and study_id not in reported:
                    kept.append(report)
                    reported.add(study_id)
            report_ids = self._returning_ids(s, Report, [
                {"study_id": studies[r.study_key], "text": r.text, "embedding": to_blob(r.vector)} for r in kept])
            sentence_ids = self._returning_ids(s, Sentence, [
                {"report_id": report_id, "position": n, "section": x.section, "text": x.text,
                 "embedding": to_blob(x.vector)}
                for report_id, r in zip(report_ids, kept) for n, x in enumerate(r.sentences)])

            def stacked(vectors: list[np.ndarray]) -> np.ndarray:
                return np.stack(vectors).astype(np.float32) if vectors else np.zeros((0, dim), np.float32)

            return WrittenBatch(
                images=(image_ids, stacked([i.vector for i in images])),
                reports=(report_ids, stacked([r.vector for r in kept])),
                sentences=(sentence_ids, stacked([x.vector for r in kept for x in r.sentences])))

    @staticmethod
    def _keyed(s: Session, key: Any, values: Sequence[str]) -> dict[str, int]:
        """key value -> id of the stored rows (studies or series) among `values`."""
        found: dict[str, int] = {}
        for chunk in chunks(values):
            found.update((k, i) for k, i in s.execute(select(key, key.class_.id).where(key.in_(chunk))))
        return found

    @staticmethod
    def _returning_ids(s: Session, table: type, rows: list[dict[str, Any]]) -> list[int]:
        """Insert rows in one multi-row statement per page; their new ids, in the order given."""
        if not rows:
            return []
        statement = insert(table).returning(table.id, sort_by_parameter_order=True)
        return [int(i) for i in s.scalars(statement, rows)]

    @staticmethod
    def _inserted(s: Session, table: type, key: Any, rows: list[dict[str, Any]]) -> dict[str, int]:
        """Insert keyed rows (studies, series); key value -> new id."""
        ids = Catalog._returning_ids(s, table, rows)
        return {row[key.key]: i for row, i in zip(rows, ids)}

    def delete_images(self, ids: Sequence[int]) -> RemovedRows:
        """Delete images with their labels and predictions, and the series, studies, reports and sentences
        they leave empty, in one transaction."""
        ids = sorted({int(i) for i in ids})
        report_ids: list[int] = []
        sentence_ids: list[int] = []
        studies_removed = 0
        with self.session() as s:
            images = [image for chunk in chunks(ids) for image in s.scalars(select(Image).where(Image.id.in_(chunk)))]
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
                    studies_removed += 1
        return RemovedRows([image.id for image in images], report_ids, sentence_ids, studies_removed)

    # -- reports and sentences -------------------------------------------------------------------
    def reports(self, ids: Sequence[int]) -> dict[int, ReportRecord]:
        """Report id -> text, study and the ids of the study's images."""
        out: dict[int, ReportRecord] = {}
        with self._sessions() as s:
            for chunk in chunks([int(i) for i in ids]):
                for report, study in s.execute(select(Report, Study).join(Study).where(Report.id.in_(chunk))):
                    out[report.id] = ReportRecord(report.id, report.text, study.study_key, study.patient_id,
                                                  study.study_date, sorted(i.id for i in study.images))
        return out

    def reports_of_images(self, image_ids: Iterable[int]) -> frozenset[int]:
        """Ids of the reports of these images' studies."""
        ids = sorted({int(i) for i in image_ids})
        found: set[int] = set()
        with self._sessions() as s:
            for chunk in chunks(ids):
                studies = select(Image.study_id).where(Image.id.in_(chunk))
                found.update(s.scalars(select(Report.id).where(Report.study_id.in_(studies))))
        return frozenset(found)

    def report_ids_of_studies(self, study_keys: Sequence[str]) -> dict[str, int]:
        """Study key -> its report's id, for the studies that have one."""
        out: dict[str, int] = {}
        with self._sessions() as s:
            for chunk in chunks(list(study_keys)):
                query = (select(Study.study_key, Report.id).join(Report, Report.study_id == Study.id)
                         .where(Study.study_key.in_(chunk)))
                out.update((key, report_id) for key, report_id in s.execute(query))
        return out

    def sentences_of(self, report_ids: Sequence[int], dim: int) -> dict[int, list[SentenceRecord]]:
        """Report id -> its sentences in order, each with its embedding."""
        out: dict[int, list[SentenceRecord]] = {}
        with self._sessions() as s:
            for chunk in chunks(sorted({int(i) for i in report_ids})):
                query = (select(Sentence).where(Sentence.report_id.in_(chunk))
                         .order_by(Sentence.report_id, Sentence.position))
                for sentence in s.scalars(query):
                    out.setdefault(sentence.report_id, []).append(SentenceRecord(
                        sentence.id, sentence.report_id, sentence.position, sentence.section, sentence.text,
                        from_blobs([sentence.embedding], dim)[0]))
        return out

    def sentence_reports(self, ids: Sequence[int]) -> dict[int, int]:
        """Sentence id -> the id of its report."""
        out: dict[int, int] = {}
        with self._sessions() as s:
            for chunk in chunks([int(i) for i in ids]):
                query = select(Sentence.id, Sentence.report_id).where(Sentence.id.in_(chunk))
                out.update((sentence, report) for sentence, report in s.execute(query))
        return out

    # -- task-head predictions -------------------------------------------------------------------
    def store_predictions(self, head: str, rows: Sequence[tuple[int, str, float, bool]],
                          replace_all: bool = False) -> int:
        """Write a head's (image id, target, probability, positive) rows in one transaction, replacing that
        head's earlier rows for the same images (or all its rows when replace_all)."""
        image_ids = sorted({int(row[0]) for row in rows})
        with self.session() as s:
            if replace_all:
                s.execute(delete(Prediction).where(Prediction.head == head))
            else:
                for chunk in chunks(image_ids):
                    s.execute(delete(Prediction).where(Prediction.head == head, Prediction.image_id.in_(chunk)))
            if rows:
                s.execute(insert(Prediction), [
                    {"image_id": int(i), "head": head, "target": t, "probability": float(p), "positive": bool(y)}
                    for i, t, p, y in rows])
        return len(image_ids)

    def predicted_heads(self) -> dict[str, int]:
        """Head name -> how many images have its stored predictions."""
        with self._sessions() as s:
            query = select(Prediction.head, func.count(func.distinct(Prediction.image_id))).group_by(Prediction.head)
            return {head: int(n) for head, n in s.execute(query)}

    def has_predictions(self, head: str) -> bool:
        """Whether the head's predictions are stored (one indexed lookup, whatever the library's size)."""
        with self._sessions() as s:
            return s.scalar(select(Prediction.id).where(Prediction.head == head).limit(1)) is not None

    def unpredicted_images(self, head: str) -> list[int]:
        """Ids of the images that have no stored prediction of this head (new since it last ran)."""
        with self._sessions() as s:
            done = select(Prediction.image_id).where(Prediction.head == head)
            return list(s.scalars(select(Image.id).where(Image.id.not_in(done)).order_by(Image.id)))

    # -- runs, failures, copies ------------------------------------------------------------------
    def record_run(self, source: str, seconds: float, added: int, failed: int, summary: str) -> None:
        with self.session() as s:
            s.add(IndexRun(source=source, finished=datetime.now(UTC).isoformat(timespec="seconds"),
                           seconds=float(seconds), added=int(added), failed=int(failed), summary=summary))

    def runs(self, limit: int = 5) -> list[RunRecord]:
        """The latest indexing runs, newest first."""
        with self._sessions() as s:
            rows = s.scalars(select(IndexRun).order_by(IndexRun.id.desc()).limit(limit))
            return [RunRecord(r.source, r.finished, r.seconds, r.added, r.failed, r.summary) for r in rows]

    def record_failure(self, path: str, reason: str) -> None:
        with self.session() as s:
            s.add(Failure(path=path, reason=reason, at=datetime.now(UTC).isoformat(timespec="seconds")))

    def failures(self, limit: int = 50) -> list[FailureRecord]:
        """The latest files that could not be read, newest first."""
        with self._sessions() as s:
            rows = s.scalars(select(Failure).order_by(Failure.id.desc()).limit(limit))
            return [FailureRecord(f.path, f.reason, f.at) for f in rows]

    def record_copies(self, paths: Sequence[str], rows: Sequence[CopyRecord]) -> None:
        """Forget the copies recorded for `paths` (the files this run looked at) and store `rows` instead."""
        with self.session() as s:
            for chunk in chunks(list(paths)):
                s.execute(delete(Copy).where(Copy.path.in_(chunk)))
            if rows:
                s.execute(insert(Copy), [{"path": r.path, "content_hash": r.content_hash, "patient_id": r.patient_id,
                                          "study_key": r.study_key, "split": r.split} for r in rows])

    def copies(self) -> list[CopyRecord]:
        """Every recorded duplicate file with the id of the indexed image that has its content."""
        with self._sessions() as s:
            rows = s.execute(select(Copy, Image.id).join(Image, (Image.content_hash == Copy.content_hash)
                                                         & (Image.frame == 0)).order_by(Copy.id))
            return [CopyRecord(c.path, c.content_hash, c.patient_id, c.study_key, c.split, image_id)
                    for c, image_id in rows]

    def forget_missing_copies(self, under: str) -> int:
        """Drop copies below `under` whose file is gone; returns how many."""
        with self.session() as s:
            gone = [c.id for c in s.scalars(select(Copy)) if c.path.startswith(under) and not os.path.exists(c.path)]
            for chunk in chunks(gone):
                s.execute(delete(Copy).where(Copy.id.in_(chunk)))
        return len(gone)

    # -- the audit log ---------------------------------------------------------------------------
    def record_search(self, user: str, action: str, query: str, filters: dict[str, Any] | None,
                      results: Sequence[int | str]) -> None:
        """Append one search to the audit log (its own short transaction, after the search succeeded)."""
        with self.session() as s:
            s.add(AuditEntry(at=datetime.now(UTC).isoformat(timespec="milliseconds"), user=user, action=action,
                             query=query, filters=json.dumps(filters, default=str, sort_keys=True) if filters else None,
                             results=json.dumps([i if isinstance(i, str) else int(i) for i in results])))

    def audit_log(self, limit: int = 100, user: str | None = None, since: str | None = None) -> list[AuditRecord]:
        """The latest searches, newest first; optionally one user's, or those at or after an ISO time."""
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        if user is not None:
            query = query.where(AuditEntry.user == user)
        if since is not None:
            query = query.where(AuditEntry.at >= since)
        with self._sessions() as s:
            return [AuditRecord(e.at, e.user, e.action, e.query, json.loads(e.filters) if e.filters else None,
                                json.loads(e.results)) for e in s.scalars(query)]

    # -- integrity -------------------------------------------------------------------------------
    def integrity_problems(self) -> list[str]:
        """SQLite's own integrity check ("ok" gives []); other databases check themselves."""
        if self.dialect != "sqlite":
            return []
        with self._sessions() as s:
            verdict = [row[0] for row in s.execute(text("PRAGMA integrity_check"))]
        return [] if verdict == ["ok"] else verdict

    def wrong_width(self, kind: str, dim: int) -> int:
        """How many rows of a kind hold an embedding that is not `dim` float32 values."""
        table = KINDS[kind]
        with self._sessions() as s:
            return int(s.scalar(select(func.count()).select_from(table)
                                .where(func.length(table.embedding) != 4 * dim)) or 0)
