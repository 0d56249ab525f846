"""Storage: the SQL catalog (source of truth, and the only place SQL is written) and the vector indexes
derived from it."""

from .catalog import Catalog, ImageFilter
from .filters import FILTER_COLUMNS
from .rows import (
    AuditRecord,
    CollectionItemRecord,
    CollectionRecord,
    CopyRecord,
    FailureRecord,
    FileState,
    ImageLocation,
    ImageRecord,
    JudgementRecord,
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
from .workspace import Workspace
from .writer import one_writer

__all__ = ["FILTER_COLUMNS", "AuditRecord", "Catalog", "CollectionItemRecord", "CollectionRecord", "CopyRecord",
           "FailureRecord", "FileState", "ImageFilter", "ImageLocation", "ImageRecord", "JudgementRecord",
           "LibraryStore", "NewImage", "NewReport", "NewSentence", "RemovedRows", "ReportRecord", "RunRecord",
           "SentenceRecord", "VectorIndex", "Workspace", "disk_full_is_reported", "one_writer"]
