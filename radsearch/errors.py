"""The small family of errors a user can cause; each message names the culprit and the fix."""

from __future__ import annotations

from pathlib import Path


class RadsearchError(Exception):
    """Base class: the CLI prints these as one line, without a traceback."""


class UnreadableImage(RadsearchError):
    """An image file (or upload) could not be decoded."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot read image {self.path}: {reason}")

    def __reduce__(self) -> tuple:
        return UnreadableImage, (self.path, self.reason)  # travels back from decode worker processes


class NoPixelData(UnreadableImage):
    """A readable DICOM object without pixels: a report, a key object selection, a DICOMDIR."""

    def __reduce__(self) -> tuple:
        return NoPixelData, (self.path, self.reason)


class UnreadableReport(UnreadableImage):
    """A DICOM Structured Report that should hold a study's report but cannot be read as one; the index
    records it as a failure, as it does an unreadable image."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(path, reason)
        self.args = (f"cannot read the report in {self.path}: {reason}",)

    def __str__(self) -> str:
        return self.args[0]

    def __reduce__(self) -> tuple:
        return UnreadableReport, (self.path, self.reason)


class ManifestError(RadsearchError):
    """A manifest CSV is missing, malformed or points at files that do not exist."""


class ModelDirError(RadsearchError):
    """A model directory is missing or not in the radsearch / Hugging Face layout."""


class NoTextTower(ModelDirError):
    """A model without a trained text tower (image-only, or trained without reports) was given text."""


class LibraryNotFound(RadsearchError):
    """A path given as a library holds no radsearch.toml."""


class LibraryMismatch(RadsearchError):
    """A model or preprocessing profile does not match the one a library was indexed with."""


class InvalidFilter(RadsearchError):
    """A search filter names an unknown column or has a value of the wrong shape."""


class CatalogUnavailable(RadsearchError):
    """The catalog database cannot be reached, created or driven (URL, server, driver)."""


class LibraryCorrupt(RadsearchError):
    """A library file is damaged: a FAISS index (`radsearch repair` rebuilds it) or the catalog (restore it)."""


class LibraryBusy(RadsearchError):
    """Another process is writing to the library (storage.writer): one writer at a time keeps its indexes whole."""


class StorageFull(RadsearchError):
    """The disk (or quota) holding the library ran out while writing; what was committed before is kept."""


class AccessDenied(RadsearchError):
    """A user could not be authenticated, or a server would be exposed without authentication."""
