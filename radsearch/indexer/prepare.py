"""Decode work done off the main process: file -> per-frame encoder input, metadata and preview.

Runs in decode worker processes (indexer.workers) and Ray tasks (indexer.distributed); it uses
imaging code only, never torch. What travels back is small: the encoder-sized pixels, the header
facts and a PNG preview, never the full-resolution image.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UnreadableImage
from ..imaging import PreprocessProfile, preprocess, preview_png, read_frames
from .scan import ScanItem


@dataclass
class PreparedFrame:
    """One frame of one file, ready to embed and write."""

    metadata: dict[str, Any]  # header facts (imaging.radiograph.METADATA_KEYS)
    shape: tuple[int, int]  # decoded (height, width)
    pixels: np.ndarray  # (C, size, size) float32 encoder input
    preview: bytes  # PNG, longest side at most the library's thumbnail size


@dataclass
class EmbeddedBatch:
    """Files decoded and embedded together, ready for one catalog transaction."""

    frames: list[tuple[ScanItem, PreparedFrame]]  # one pair per frame; a file's frames stay in one batch
    vectors: np.ndarray  # (len(frames), D) image embeddings
    failures: list[tuple[ScanItem, UnreadableImage]]
    files: int  # files the batch covers, for the progress bar
    decode_seconds: float = 0.0
    embed_seconds: float = 0.0


def prepare_file(path: Path, profile: PreprocessProfile, preview_side: int) -> list[PreparedFrame] | UnreadableImage:
    """Decode every frame of `path`; an unreadable file comes back as its error, to be recorded."""
    try:
        frames = read_frames(path)
    except UnreadableImage as e:
        return e
    return [PreparedFrame(rg.metadata, rg.shape, preprocess(rg, profile), preview_png(rg, preview_side))
            for rg in frames]


def timed_prepare(path: Path, profile: PreprocessProfile,
                  preview_side: int) -> tuple[list[PreparedFrame] | UnreadableImage, float]:
    """prepare_file and the seconds it took in its worker (the decode side of the time split)."""
    start = time.perf_counter()
    result = prepare_file(path, profile, preview_side)
    return result, time.perf_counter() - start
