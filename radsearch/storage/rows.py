"""What the catalog hands out and takes in: plain dataclasses, so no caller sees SQL or ORM objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ImageRecord:
    """One indexed image as search hits, curation and the UI need it."""

    id: int
    path: str
    frame: int
    study_key: str
    metadata: dict[str, Any]  # registry columns asked for, plus study, series and size facts
    labels: list[str] = field(default_factory=list)
    report_id: int | None = None
    report: str | None = None  # the study's report text


@dataclass(frozen=True)
class ImageLocation:
    """Where an indexed image's pixels are: its file and frame."""

    id: int
    path: str
    frame: int


@dataclass(frozen=True)
class ReportRecord:
    """One report with its study and the ids of the study's images."""

    id: int
    text: str
    study_key: str
    patient_id: str | None
    study_date: str | None
    image_ids: list[int]


@dataclass(frozen=True)
class SentenceRecord:
    """One embedded sentence of a report, in report order."""

    id: int
    report_id: int
    position: int
    section: str
    text: str
    vector: np.ndarray


@dataclass(frozen=True)
class FileState:
    """What a run remembers of an indexed file, to skip it next time without reading it."""

    size: int | None
    mtime_ns: int | None
    content_hash: str


@dataclass(frozen=True)
class CopyRecord:
    """A duplicate file that was not indexed, with the indexed image that has its content."""

    path: str
    content_hash: str
    patient_id: str | None
    study_key: str | None
    split: str | None
    image_id: int | None = None


@dataclass(frozen=True)
class RunRecord:
    source: str
    finished: str
    seconds: float
    added: int
    failed: int
    summary: str


@dataclass(frozen=True)
class FailureRecord:
    path: str
    reason: str
    at: str


@dataclass(frozen=True)
class AuditRecord:
    at: str
    user: str
    action: str
    query: str
    filters: dict[str, Any] | None
    results: list[int | str]


@dataclass
class NewSentence:
    section: str
    text: str
    vector: np.ndarray


@dataclass
class NewReport:
    """A study's report to store, with its embedding and its embedded sentences."""

    study_key: str
    text: str
    vector: np.ndarray
    sentences: list[NewSentence] = field(default_factory=list)


@dataclass
class NewImage:
    """One frame to store: where it came from, its study and series, its metadata and its embedding."""

    path: str
    content_hash: str
    frame: int
    file_size: int | None
    file_mtime_ns: int | None
    width: int
    height: int
    profile_hash: str
    vector: np.ndarray
    study_key: str
    series_key: str
    columns: dict[str, Any]  # registry columns by name (patient_id already a pseudonym)
    study: dict[str, Any] = field(default_factory=dict)  # accession, study_uid, study_date of a new study
    series: dict[str, Any] = field(default_factory=dict)  # series_uid, modality, number, description
    labels: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    header: dict[str, Any] | None = None


@dataclass
class WrittenBatch:
    """Ids given to what one batch stored, in input order, with their vectors (for the indexes)."""

    images: tuple[list[int], np.ndarray]
    reports: tuple[list[int], np.ndarray]
    sentences: tuple[list[int], np.ndarray]

    def by_kind(self) -> dict[str, tuple[list[int], np.ndarray]]:
        return {"images": self.images, "reports": self.reports, "sentences": self.sentences}


@dataclass
class RemovedRows:
    """What deleting images took with it: their studies' reports and sentences when a study emptied."""

    images: list[int]
    reports: list[int]
    sentences: list[int]
    studies: int

    def counts(self) -> dict[str, int]:
        return {"images": len(self.images), "reports": len(self.reports), "studies": self.studies}


@dataclass(frozen=True)
class CollectionRecord:
    name: str
    note: str
    created: str
    user: str
    items: int


@dataclass(frozen=True)
class CollectionItemRecord:
    id: int
    image_id: int | None  # a case; None for a saved search
    path: str | None
    study_key: str | None
    search: dict[str, Any] | None  # a saved search: query, where, by, k
    note: str
    added: str
    user: str


@dataclass(frozen=True)
class JudgementRecord:
    query: str  # as the audit log describes it: "text: ...", "library image 12", "image NAME sha256:..."
    image_id: int
    relevant: bool
    user: str
    at: str
