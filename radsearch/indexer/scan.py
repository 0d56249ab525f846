"""Scan: turn an archive folder, a manifest or a single file into the list of images to index."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pydicom

from ..datasets import ManifestRecord, read_manifest
from ..errors import ManifestError
from ..imaging import IMAGE_SUFFIXES, sniff

log = logging.getLogger(__name__)
MANIFEST_NAME = "manifest.csv"


@dataclass
class ScanItem:
    path: Path
    record: ManifestRecord | None = None  # manifest facts (report, labels, split) when there is one
    content_hash: str = ""
    size: int | None = None  # bytes and modification time when scanned: with them an unchanged
    mtime_ns: int | None = None  # file is recognised without reading it again


@dataclass
class ScanResult:
    items: list[ScanItem] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)  # reason -> count


def scan(source: str | Path) -> ScanResult:
    """Images under `source`: a manifest CSV, a folder (its manifest.csv if present) or one file."""
    source = Path(source)
    if not source.exists():
        raise ManifestError(f"{source} does not exist; give an archive folder, a manifest CSV or an image file")
    if source.is_file() and source.suffix.lower() == ".csv":
        return _from_manifest(source)
    if source.is_dir() and (source / MANIFEST_NAME).is_file():
        log.info("using %s for reports, labels and splits", source / MANIFEST_NAME)
        return _from_manifest(source / MANIFEST_NAME)
    if source.is_file() and source.name.upper() == "DICOMDIR":
        return _from_dicomdir(source)
    result = ScanResult()
    files = [source] if source.is_file() else sorted(p for p in source.rglob("*") if p.is_file())
    for path in files:
        if path.name.upper() == "DICOMDIR":
            result.skipped["DICOMDIR index file (its images are scanned with the folder)"] += 1
        elif path.suffix.lower() in IMAGE_SUFFIXES:
            result.items.append(ScanItem(path))
        elif _is_dicom(path):  # DICOM files often have no extension
            result.items.append(ScanItem(path))
        else:
            result.skipped["not an image file"] += 1
    return result


def _from_manifest(manifest: Path) -> ScanResult:
    result = ScanResult()
    for record in read_manifest(manifest):
        path = Path(record.path)
        if path.is_file():
            result.items.append(ScanItem(path, record))
        else:
            log.warning("manifest %s lists %s, which does not exist", manifest, path)
            result.skipped["listed in the manifest but missing"] += 1
    return result


def _from_dicomdir(dicomdir: Path) -> ScanResult:
    """The image instances a DICOMDIR references (DICOM media: CDs, PACS exports)."""
    result = ScanResult()
    try:
        records = list(pydicom.dcmread(dicomdir).DirectoryRecordSequence)
    except Exception as e:  # a broken index is a user file problem, reported with its path
        raise ManifestError(f"cannot read DICOMDIR {dicomdir}: {e}") from e
    for record in records:
        kind = str(record.get("DirectoryRecordType", "")).strip()
        if kind != "IMAGE":
            if "ReferencedFileID" in record:  # patient/study/series records reference no file
                result.skipped[f"DICOMDIR {kind.lower()} record, not an image"] += 1
            continue
        file_id = record.get("ReferencedFileID")
        parts = [file_id] if isinstance(file_id, str) else list(file_id or [])
        path = dicomdir.parent.joinpath(*parts) if parts else None
        if path is None or not path.is_file():
            result.skipped["listed in the DICOMDIR but missing"] += 1
        else:
            result.items.append(ScanItem(path))
    return result


def _is_dicom(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return sniff(fh.read(132)) == "dicom"
    except OSError:
        return False

