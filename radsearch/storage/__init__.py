"""Storage: the SQL catalog (source of truth, and the only place SQL is written) and the vector indexes
derived from it."""

from .catalog import Catalog, ImageFilter
from .filters import FILTER_COLUMNS
from .rows import (
    AuditRecord,
    CopyRecord,
    FailureRecord,
    FileState,
    ImageLocation,
    ImageRecord,
    NewImage,
    NewReport,
    NewSentence,
    RemovedRows,
    ReportRecord,
    RunRecord,
    SentenceRecord,
)
from .store import LibraryStore, disk_full_is_reported
from .vectors import VectorIndex

__all__ = ["FILTER_COLUMNS", "AuditRecord", "Catalog", "CopyRecord", "FailureRecord", "FileState", "ImageFilter",
           "ImageLocation", "ImageRecord", "LibraryStore", "NewImage", "NewReport", "NewSentence", "RemovedRows",
           "ReportRecord", "RunRecord", "SentenceRecord", "VectorIndex", "disk_full_is_reported"]
