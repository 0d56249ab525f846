"""Decode work done off the main process: file -> per-frame encoder input, metadata and preview.

Runs in decode worker processes (indexer.workers) and Ray tasks (indexer.distributed); it uses
imaging code only, never torch. What travels back is small: the encoder-sized pixels, the header
facts and a PNG preview, never the full-resolution image.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pydicom

from ..datasets.dicom_sr import REPORT_CLASSES, SRReport, document_kind, read_sr
from ..errors import NoPixelData, UnreadableImage, UnreadableReport
from ..imaging import PreprocessProfile, preprocess, preview_png, read_frames
from .scan import ScanItem


@dataclass
class PreparedFrame:
    """One frame of one file, ready to embed and write."""

    metadata: dict[str, Any]  # header facts (imaging.radiograph.METADATA_KEYS)
    shape: tuple[int, int]  # decoded (height, width)
    pixels: np.ndarray  # (C, size, size) float32 encoder input
    preview: bytes  # PNG, longest side at most the library's thumbnail size


@dataclass(frozen=True)
class OtherDocument:
    """A DICOM object that is neither an image nor a report (a key object selection, a dose report):
    skipped, not failed."""

    kind: str


Prepared = "list[PreparedFrame] | SRReport | OtherDocument | UnreadableImage"


@dataclass
class EmbeddedBatch:
    """Files decoded and embedded together, ready for one catalog transaction."""

    frames: list[tuple[ScanItem, PreparedFrame]]  # one pair per frame; a file's frames stay in one batch
    vectors: np.ndarray  # (len(frames), D) image embeddings
    failures: list[tuple[ScanItem, UnreadableImage]]
    files: int  # files the batch covers, for the progress bar
    decode_seconds: float = 0.0
    embed_seconds: float = 0.0
    # reports to link to their studies, and other documents skipped
    documents: list[tuple[ScanItem, SRReport | OtherDocument]] = field(default_factory=list)


def prepare_file(path: Path, profile: PreprocessProfile, preview_side: int) -> Prepared:
    """Decode every frame of `path`; a DICOM report comes back as its text, an unreadable file as its
    error, to be recorded."""
    try:
        frames = read_frames(path)
    except NoPixelData as e:
        return _document(path, e)
    except UnreadableImage as e:
        return e
    return [PreparedFrame(rg.metadata, rg.shape, preprocess(rg, profile), preview_png(rg, preview_side))
            for rg in frames]


def _document(path: Path, no_pixels: NoPixelData) -> SRReport | OtherDocument | UnreadableImage:
    """What a DICOM object without pixels holds: a report (Basic Text / Enhanced / Comprehensive SR),
    another kind of document, or nothing radsearch reads (its no-pixel-data error stands)."""
    try:
        ds = pydicom.dcmread(path)
    except Exception:  # it was readable a moment ago; the original error says enough
        return no_pixels
    kind = document_kind(ds)
    if kind is None:
        return no_pixels
    if kind not in REPORT_CLASSES.values():
        return OtherDocument(kind)
    try:
        return read_sr(ds, str(path))
    except UnreadableReport as e:
        return e


def timed_prepare(path: Path, profile: PreprocessProfile,
                  preview_side: int) -> tuple[Prepared, float]:
    """prepare_file and the seconds it took in its worker (the decode side of the time split)."""
    start = time.perf_counter()
    result = prepare_file(path, profile, preview_side)
    return result, time.perf_counter() - start
