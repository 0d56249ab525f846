"""The catalog: SQLAlchemy models for studies, images, reports and labels, and the queries on them.

SQL is the source of truth: each image and report row keeps its embedding, so the FAISS
indexes can always be rebuilt from here. SQLite by default (WAL), any SQLAlchemy URL otherwise.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker

from ..errors import CatalogUnavailable, LibraryCorrupt, StorageFull
from .database import parse, safe


class Base(DeclarativeBase):
    pass


class Study(Base):
    __tablename__ = "studies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_key: Mapped[str] = mapped_column(String(128), unique=True)  # manifest study_id or StudyInstanceUID
    patient_id: Mapped[str | None] = mapped_column(String(128), index=True)  # pseudonym (radsearch.privacy)
    accession: Mapped[str | None] = mapped_column(String(128), index=True)  # pseudonym of the accession number
    study_uid: Mapped[str | None] = mapped_column(String(128))
    study_date: Mapped[str | None] = mapped_column(String(10))
    series: Mapped[list[Series]] = relationship(back_populates="study")
    images: Mapped[list[Image]] = relationship(back_populates="study")
    report: Mapped[Report | None] = relationship(back_populates="study", uselist=False)


class Series(Base):
    """Images acquired together; keyed by SeriesInstanceUID, or one per study where the source has none."""

    __tablename__ = "series"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), index=True)
    series_key: Mapped[str] = mapped_column(String(160), unique=True)
    series_uid: Mapped[str | None] = mapped_column(String(128))
    modality: Mapped[str | None] = mapped_column(String(16))
    number: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(Text)
    study: Mapped[Study] = relationship(back_populates="series")
    images: Mapped[list[Image]] = relationship(back_populates="series")


class Image(Base):
    __tablename__ = "images"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # = FAISS id in images.faiss
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), index=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"), index=True)
    path: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)  # of the file; frames share it
    file_size: Mapped[int | None] = mapped_column(BigInteger)  # with file_mtime_ns: an unchanged file is not
    file_mtime_ns: Mapped[int | None] = mapped_column(BigInteger)  # read again by the next run
    frame: Mapped[int] = mapped_column(Integer, default=0)  # 0-based frame of a multi-frame file
    patient_id: Mapped[str | None] = mapped_column(String(128), index=True)  # pseudonym (radsearch.privacy)
    sop_uid: Mapped[str | None] = mapped_column(String(128))
    modality: Mapped[str | None] = mapped_column(String(16))
    body_part: Mapped[str | None] = mapped_column(String(64), index=True)
    view: Mapped[str | None] = mapped_column(String(16), index=True)
    laterality: Mapped[str | None] = mapped_column(String(8))
    sex: Mapped[str | None] = mapped_column(String(8), index=True)
    age: Mapped[float | None] = mapped_column(Float, index=True)
    study_date: Mapped[str | None] = mapped_column(String(10), index=True)
    split: Mapped[str | None] = mapped_column(String(16), index=True)
    institution: Mapped[str | None] = mapped_column(String(128), index=True)
    manufacturer: Mapped[str | None] = mapped_column(String(128), index=True)
    manufacturer_model: Mapped[str | None] = mapped_column(String(128))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    profile_hash: Mapped[str] = mapped_column(String(32))
    extra: Mapped[str | None] = mapped_column(Text)  # JSON: spacing, orientation, regions, other facts
    header: Mapped[str | None] = mapped_column(Text)  # JSON: the DICOM header minus pixels and identities
    embedding: Mapped[bytes] = mapped_column(LargeBinary)  # float32 unit vector
    study: Mapped[Study] = relationship(back_populates="images")
    series: Mapped[Series] = relationship(back_populates="images")
    labels: Mapped[list[Label]] = relationship(back_populates="image", cascade="all, delete-orphan")
    predictions: Mapped[list[Prediction]] = relationship(back_populates="image", cascade="all, delete-orphan")
    __table_args__ = (UniqueConstraint("content_hash", "frame"),)


class Report(Base):
    __tablename__ = "reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # = FAISS id in reports.faiss
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), unique=True)
    text: Mapped[str] = mapped_column(Text)
    embedding: Mapped[bytes] = mapped_column(LargeBinary)
    study: Mapped[Study] = relationship(back_populates="report")
    sentences: Mapped[list[Sentence]] = relationship(back_populates="report", cascade="all, delete-orphan",
                                                     order_by="Sentence.position")


class Sentence(Base):
    """One sentence of a report's findings or impression, embedded on its own (why a report matched)."""

    __tablename__ = "sentences"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # = FAISS id in sentences.faiss
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # 0-based order in the report
    section: Mapped[str] = mapped_column(String(16))  # FINDINGS, IMPRESSION, ... (datasets.report_text)
    text: Mapped[str] = mapped_column(Text)
    embedding: Mapped[bytes] = mapped_column(LargeBinary)
    report: Mapped[Report] = relationship(back_populates="sentences")


class Label(Base):
    __tablename__ = "labels"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id"))
    name: Mapped[str] = mapped_column(String(64))
    image: Mapped[Image] = relationship(back_populates="labels")
    __table_args__ = (Index("ix_labels_name_image", "name", "image_id"),)


class Prediction(Base):
    """A task head's stored answer for an indexed image, so heads can filter searches (`head:NAME`)."""

    __tablename__ = "predictions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id"))
    head: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(128))
    probability: Mapped[float] = mapped_column(Float)
    positive: Mapped[bool] = mapped_column(Boolean)  # at the head's operating point (categorical: the top class)
    image: Mapped[Image] = relationship(back_populates="predictions")
    __table_args__ = (Index("ix_predictions_head_target", "head", "target", "positive", "image_id"),
                      Index("ix_predictions_image", "image_id"))


class IndexRun(Base):
    """One finished indexing run: what the Library page shows as the last run."""

    __tablename__ = "index_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    finished: Mapped[str] = mapped_column(String(32))
    seconds: Mapped[float] = mapped_column(Float)
    added: Mapped[int] = mapped_column(Integer)
    failed: Mapped[int] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(Text)


class Copy(Base):
    """A file not indexed because an indexed image has the same content: an exact duplicate.

    Kept with the patient, study and split its manifest row gave it, so curation can report duplicate
    files and the splits they leak into; joined to its image by content hash.
    """

    __tablename__ = "copies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(Text, index=True)  # each run replaces the rows of the files it hashed
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    patient_id: Mapped[str | None] = mapped_column(String(128))  # pseudonym, as on images
    study_key: Mapped[str | None] = mapped_column(String(128))
    split: Mapped[str | None] = mapped_column(String(16))


class Failure(Base):
    """A file an indexing run could not read, kept so the user can see and fix it."""

    __tablename__ = "failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[str] = mapped_column(String(32))


class AuditEntry(Base):
    """One search: who ran it, when, what they asked and which images or reports it showed them."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[str] = mapped_column(String(32), index=True)  # UTC, ISO 8601 to the millisecond
    user: Mapped[str] = mapped_column(String(128), index=True)
    action: Mapped[str] = mapped_column(String(32))  # the API call: search_image, search_text, ...
    query: Mapped[str] = mapped_column(Text)  # the text, or the image's name and content hash
    filters: Mapped[str | None] = mapped_column(Text)  # JSON of the metadata filter
    results: Mapped[str] = mapped_column(Text)  # JSON: ids shown (images, reports; a draft: its studies)


KINDS = {"images": Image, "reports": Report, "sentences": Sentence}
BUSY_TIMEOUT_S = 30
CORRUPT_MARKERS = ("file is not a database", "database disk image is malformed", "malformed database schema")
FULL_MARKERS = ("database or disk is full", "no space left on device", "could not extend file", "disk quota exceeded")


def _translate_errors(engine: Engine, url: str) -> None:
    """Turn a damaged catalog or a full disk, wherever SQL meets it, into errors that say what to do."""
    parsed = parse(url)
    where = parsed.database if parsed.drivername.startswith("sqlite") else safe(url)

    @event.listens_for(engine, "handle_error")
    def _translate(context) -> Exception | None:  # noqa: ANN001 - sqlalchemy ExceptionContext
        message = str(context.original_exception).lower()
        if any(marker in message for marker in CORRUPT_MARKERS):
            return LibraryCorrupt(f"the catalog {where} is damaged ({context.original_exception}); it is the "
                                  "library's source of truth and cannot be rebuilt: restore it from a backup "
                                  "(the FAISS indexes and thumbnails can then be rebuilt with `radsearch repair`)")
        if any(marker in message for marker in FULL_MARKERS):
            return StorageFull(f"no space left for the catalog {where} ({context.original_exception}); free "
                               "some space and run the command again: everything committed before is kept")
        return None


def connect(url: str) -> Engine:
    """An engine with SQLite set up for concurrent readers (WAL) and real foreign keys; tables made if new."""
    parsed = parse(url)
    # SQLite: wait up to BUSY_TIMEOUT_S for a writer (the indexer, an audit row) instead of failing a search
    engine = create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_S} if parsed.drivername == "sqlite" else {})
    _translate_errors(engine, url)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()
    for attempt in range(3):
        try:
            Base.metadata.create_all(engine)
            return engine
        except (LibraryCorrupt, StorageFull):
            engine.dispose()
            raise
        except (OperationalError, ProgrammingError, IntegrityError) as e:
            # a second process creating the same new catalog at this moment: its tables now exist
            if attempt < 2 and "exist" in str(e.orig or e).lower():
                time.sleep(0.2)
                continue
            engine.dispose()
            raise CatalogUnavailable(f"cannot open the catalog at {safe(url)}: {str(e.orig or e).strip()}; "
                                     "check that the server runs and the URL is right") from e
    return engine


def to_blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def from_blobs(blobs: Sequence[bytes], dim: int) -> np.ndarray:
    if not blobs:
        return np.zeros((0, dim), dtype=np.float32)
    return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), dim).copy()


class Catalog:
    """Sessions and the handful of queries the indexer and the search engine need."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = connect(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed on success, rolled back on any error."""
        with self._sessions() as session, session.begin():
            yield session

    def known_hashes(self, hashes: Iterable[str]) -> set[str]:
        hashes = list(hashes)
        found: set[str] = set()
        with self._sessions() as s:
            for i in range(0, len(hashes), 500):
                chunk = hashes[i:i + 500]
                found.update(s.scalars(select(Image.content_hash).where(Image.content_hash.in_(chunk))))
        return found

    def file_stats(self) -> dict[str, tuple[int | None, int | None, str]]:
        """Stored path -> (size, mtime in ns, content hash) of every indexed file."""
        with self._sessions() as s:
            return {path: (size, mtime, digest) for path, size, mtime, digest in s.execute(
                select(Image.path, Image.file_size, Image.file_mtime_ns, Image.content_hash).distinct())}

    def image_ids_of(self, files: Sequence[tuple[str, str]]) -> list[int]:
        """Ids of the images stored from these (path, content hash) pairs."""
        ids: list[int] = []
        with self._sessions() as s:
            for path, digest in files:
                ids.extend(s.scalars(select(Image.id).where(Image.path == path, Image.content_hash == digest)))
        return ids

    def content_keys(self, ids: Sequence[int]) -> dict[int, str]:
        """Image id -> "content hash:frame", what identifies its pixels across removals and re-indexing."""
        ids = [int(i) for i in ids]
        out: dict[int, str] = {}
        with self._sessions() as s:
            for i in range(0, len(ids), 500):
                query = select(Image.id, Image.content_hash, Image.frame).where(Image.id.in_(ids[i:i + 500]))
                out.update((image_id, f"{digest}:{frame}") for image_id, digest, frame in s.execute(query))
        return out

    def update_file_stats(self, stats: dict[str, tuple[int, int]]) -> None:
        """Record new (size, mtime) for files whose content was re-hashed and found unchanged."""
        with self.session() as s:
            for path, (size, mtime) in stats.items():
                s.execute(update(Image).where(Image.path == path).values(file_size=size, file_mtime_ns=mtime))

    def count(self, kind: str = "images") -> int:
        with self._sessions() as s:
            return int(s.scalar(select(func.count()).select_from(KINDS[kind])) or 0)

    def ids(self, kind: str = "images") -> np.ndarray:
        with self._sessions() as s:
            return np.fromiter(s.scalars(select(KINDS[kind].id)), dtype=np.int64)

    def embeddings(self, kind: str, ids: Sequence[int] | None, dim: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of stored embeddings, all of them when ids is None."""
        table = KINDS[kind]
        query = select(table.id, table.embedding).order_by(table.id)
        rows: list = []
        with self._sessions() as s:
            if ids is None:
                rows = list(s.execute(query))
            else:
                ids = [int(i) for i in ids]
                for i in range(0, len(ids), 500):
                    rows.extend(s.execute(query.where(table.id.in_(ids[i:i + 500]))))
        return np.array([r[0] for r in rows], dtype=np.int64), from_blobs([r[1] for r in rows], dim)

    def image_rows(self, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Image id -> metadata, labels, study and report text, for building search hits."""
        ids = [int(i) for i in ids]
        out: dict[int, dict[str, Any]] = {}
        with self._sessions() as s:
            rows = s.execute(select(Image, Study, Series, Report).join(Study, Image.study_id == Study.id)
                             .join(Series, Image.series_id == Series.id)
                             .outerjoin(Report, Report.study_id == Study.id).where(Image.id.in_(ids)))
            labels: dict[int, list[str]] = {}
            for image_id, name in s.execute(select(Label.image_id, Label.name).where(Label.image_id.in_(ids))):
                labels.setdefault(image_id, []).append(name)
            for image, study, series, report in rows:
                out[image.id] = {
                    "id": image.id, "path": image.path, "study_key": study.study_key,
                    "report": report.text if report else None, "report_id": report.id if report else None,
                    "labels": sorted(labels.get(image.id, [])),
                    "metadata": {c: getattr(image, c) for c in METADATA_COLUMNS} | {
                        "study_key": study.study_key, "accession": study.accession, "study_uid": study.study_uid,
                        "series_uid": series.series_uid, "width": image.width, "height": image.height,
                        "extra": json.loads(image.extra) if image.extra else {}},
                }
        return out

    def report_rows(self, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Report id -> text, study and the ids of the study's images."""
        ids = [int(i) for i in ids]
        out: dict[int, dict[str, Any]] = {}
        with self._sessions() as s:
            for report, study in s.execute(select(Report, Study).join(Study).where(Report.id.in_(ids))):
                out[report.id] = {"id": report.id, "text": report.text, "study_key": study.study_key,
                                  "patient_id": study.patient_id, "study_date": study.study_date,
                                  "image_ids": sorted(i.id for i in study.images)}
        return out

    def sentences_of(self, report_ids: Sequence[int], dim: int) -> dict[int, list[dict[str, Any]]]:
        """Report id -> its sentences in order: id, position, section, text and embedding."""
        out: dict[int, list[dict[str, Any]]] = {}
        ids = sorted({int(i) for i in report_ids})
        with self._sessions() as s:
            for i in range(0, len(ids), 500):
                query = (select(Sentence).where(Sentence.report_id.in_(ids[i:i + 500]))
                         .order_by(Sentence.report_id, Sentence.position))
                for sentence in s.scalars(query):
                    out.setdefault(sentence.report_id, []).append({
                        "id": sentence.id, "position": sentence.position, "section": sentence.section,
                        "text": sentence.text, "vector": from_blobs([sentence.embedding], dim)[0]})
        return out

    def sentence_rows(self, ids: Sequence[int]) -> dict[int, int]:
        """Sentence id -> the id of its report."""
        ids = [int(i) for i in ids]
        out: dict[int, int] = {}
        with self._sessions() as s:
            for i in range(0, len(ids), 500):
                query = select(Sentence.id, Sentence.report_id).where(Sentence.id.in_(ids[i:i + 500]))
                out.update((sentence, report) for sentence, report in s.execute(query))
        return out

    def store_predictions(self, head: str, rows: Sequence[tuple[int, str, float, bool]],
                          replace_all: bool = False) -> int:
        """Write a head's (image id, target, probability, positive) rows in one transaction, replacing that
        head's earlier rows for the same images (or all its rows when replace_all)."""
        image_ids = sorted({int(row[0]) for row in rows})
        with self.session() as s:
            if replace_all:
                s.execute(delete(Prediction).where(Prediction.head == head))
            else:
                for i in range(0, len(image_ids), 500):
                    s.execute(delete(Prediction).where(Prediction.head == head,
                                                       Prediction.image_id.in_(image_ids[i:i + 500])))
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

    def record_run(self, source: str, seconds: float, added: int, failed: int, summary: str) -> None:
        with self.session() as s:
            s.add(IndexRun(source=source, finished=datetime.now(UTC).isoformat(timespec="seconds"),
                           seconds=float(seconds), added=int(added), failed=int(failed), summary=summary))

    def runs(self, limit: int = 5) -> list[dict[str, Any]]:
        """The latest indexing runs, newest first."""
        with self._sessions() as s:
            rows = s.scalars(select(IndexRun).order_by(IndexRun.id.desc()).limit(limit))
            return [{"source": r.source, "finished": r.finished, "seconds": r.seconds, "added": r.added,
                     "failed": r.failed, "summary": r.summary} for r in rows]

    def failures(self, limit: int = 50) -> list[dict[str, str]]:
        """The latest files that could not be read, newest first."""
        with self._sessions() as s:
            rows = s.scalars(select(Failure).order_by(Failure.id.desc()).limit(limit))
            return [{"path": f.path, "reason": f.reason, "at": f.at} for f in rows]

    def value_counts(self, column: str) -> dict[str, int]:
        """Images per value of an image column, or per label for column="labels"."""
        with self._sessions() as s:
            if column == "labels":
                query = select(Label.name, func.count()).group_by(Label.name)
            else:
                field = getattr(Image, column)
                query = select(field, func.count()).group_by(field)
            return {str(value) if value not in (None, "") else "(none)": int(n) for value, n in s.execute(query)}

    def record_copies(self, paths: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
        """Forget the copies recorded for `paths` (the files this run looked at) and store `rows` instead."""
        paths = list(paths)
        with self.session() as s:
            for i in range(0, len(paths), 500):
                s.execute(delete(Copy).where(Copy.path.in_(paths[i:i + 500])))
            if rows:
                s.execute(insert(Copy), list(rows))

    def copies(self) -> list[dict[str, Any]]:
        """Every recorded duplicate file with the id of the indexed image that has its content."""
        with self._sessions() as s:
            rows = s.execute(select(Copy, Image.id).join(Image, (Image.content_hash == Copy.content_hash)
                                                         & (Image.frame == 0)).order_by(Copy.id))
            return [{"path": c.path, "content_hash": c.content_hash, "patient_id": c.patient_id,
                     "study_key": c.study_key, "split": c.split, "image_id": image_id}
                    for c, image_id in rows]

    def forget_missing_copies(self, under: str) -> int:
        """Drop copies below `under` whose file is gone; returns how many."""
        with self.session() as s:
            gone = [c.id for c in s.scalars(select(Copy)) if c.path.startswith(under) and not os.path.exists(c.path)]
            if gone:
                s.execute(delete(Copy).where(Copy.id.in_(gone)))
        return len(gone)

    def record_failure(self, path: str, reason: str) -> None:
        with self.session() as s:
            s.add(Failure(path=path, reason=reason, at=datetime.now(UTC).isoformat(timespec="seconds")))

    def record_search(self, user: str, action: str, query: str, filters: dict[str, Any] | None,
                      results: Sequence[int | str]) -> None:
        """Append one search to the audit log (its own short transaction, after the search succeeded)."""
        with self.session() as s:
            s.add(AuditEntry(at=datetime.now(UTC).isoformat(timespec="milliseconds"), user=user, action=action,
                             query=query, filters=json.dumps(filters, default=str, sort_keys=True) if filters else None,
                             results=json.dumps([i if isinstance(i, str) else int(i) for i in results])))

    def audit_log(self, limit: int = 100, user: str | None = None, since: str | None = None) -> list[dict[str, Any]]:
        """The latest searches, newest first; optionally one user's, or those at or after an ISO time."""
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        if user is not None:
            query = query.where(AuditEntry.user == user)
        if since is not None:
            query = query.where(AuditEntry.at >= since)
        with self._sessions() as s:
            return [{"at": e.at, "user": e.user, "action": e.action, "query": e.query,
                     "filters": json.loads(e.filters) if e.filters else None, "results": json.loads(e.results)}
                    for e in s.scalars(query)]

    def distinct(self, column: str) -> list[str]:
        """Distinct non-empty values of an image column (for UI filter choices)."""
        with self._sessions() as s:
            values = s.scalars(select(getattr(Image, column)).distinct())
            return sorted(v for v in values if v not in (None, ""))


METADATA_COLUMNS = ("patient_id", "sop_uid", "frame", "modality", "body_part", "view", "laterality", "sex", "age",
                    "study_date", "split", "institution", "manufacturer", "manufacturer_model")
