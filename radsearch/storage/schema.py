"""The catalog's tables (SQLAlchemy ORM). The images table's metadata columns come from the registry in
radsearch.columns; everything else is written here. Changing a table means a migration too
(storage/migrations): a test checks that the migrations build exactly these tables.

SQL is the source of truth: each image, report and sentence row keeps its embedding, so the vector
indexes can always be rebuilt from here.
"""

from __future__ import annotations

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
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeEngine

from ..columns import COLUMNS, Column


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
    """One indexed frame. Its metadata columns (patient_id, body_part, view, age, ...) are added below
    from the column registry."""

    __tablename__ = "images"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # = FAISS id in images.faiss
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), index=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"), index=True)
    path: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)  # of the file; frames share it
    file_size: Mapped[int | None] = mapped_column(BigInteger)  # with file_mtime_ns: an unchanged file is not
    file_mtime_ns: Mapped[int | None] = mapped_column(BigInteger)  # read again by the next run
    frame: Mapped[int] = mapped_column(Integer, default=0)  # 0-based frame of a multi-frame file
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
    # ids are never reused (SQLite would give a removed newest image's id to the next one): migration 0005
    __table_args__ = (UniqueConstraint("content_hash", "frame"), {"sqlite_autoincrement": True})


def sql_type(column: Column) -> TypeEngine:
    """The SQL type a registry column is stored as."""
    return Float() if column.kind == "number" else String(10 if column.kind == "date" else column.length)


for _column in COLUMNS:  # declarative mapping accepts columns added to a mapped class after its definition
    setattr(Image, _column.name, mapped_column(_column.name, sql_type(_column), nullable=True,
                                               index=_column.filterable))


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
    __table_args__ = (Index("ix_labels_name_image", "name", "image_id"), Index("ix_labels_image", "image_id"))


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


class Collection(Base):
    """A named set of cases a user keeps: a teaching file, a tumour-board list, a curation set."""

    __tablename__ = "collections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created: Mapped[str] = mapped_column(String(32))  # UTC, ISO 8601
    user: Mapped[str] = mapped_column(String(128))


class CollectionItem(Base):
    """A case (an image id) or a search (its query and filters as JSON) in a collection, with a note.

    No foreign key to images: a case removed from the library stays listed (path and study kept) and is
    reported as gone; image ids are never reused, so the id cannot come to mean another image."""

    __tablename__ = "collection_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id"), index=True)
    image_id: Mapped[int | None] = mapped_column(Integer)
    path: Mapped[str | None] = mapped_column(Text)
    study_key: Mapped[str | None] = mapped_column(String(128))
    search: Mapped[str | None] = mapped_column(Text)  # JSON: {"query": ..., "where": ..., "by": ..., "k": ...}
    note: Mapped[str] = mapped_column(Text, default="")
    added: Mapped[str] = mapped_column(String(32))
    user: Mapped[str] = mapped_column(String(128))


class Judgement(Base):
    """A user's relevance mark on one result of one query (the query as the audit log describes it);
    the latest mark of a user replaces the earlier one."""

    __tablename__ = "judgements"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    query: Mapped[str] = mapped_column(String(512))
    image_id: Mapped[int] = mapped_column(Integer)
    relevant: Mapped[bool] = mapped_column(Boolean)
    user: Mapped[str] = mapped_column(String(128))
    at: Mapped[str] = mapped_column(String(32))
    __table_args__ = (UniqueConstraint("query", "image_id", "user", name="uq_judgements_query_image_user"),
                      Index("ix_judgements_query", "query"))


KINDS = {"images": Image, "reports": Report, "sentences": Sentence}  # the tables with an embedding and an index
