"""Files: content hashes, atomic writes, and where each part of a library lives on disk.

Every writer of a library file goes through `atomic_path` (or `atomic_write_bytes`): readers and
crashes see the old file or the new one, never half of one. Every reader and writer of a library
path asks `LibraryPaths` for it, so the on-disk layout is written down once.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

CONFIG_FILE = "radsearch.toml"
CATALOG_FILE = "catalog.sqlite"
VECTORS_DIR = "vectors"
MODEL_DIR = "model"
THUMBS_DIR = "thumbs"
HEADS_DIR = "heads"
CURATION_DIR = "curation"
MODEL_META_FILE = "radsearch.json"  # inside a model directory: its id, preprocessing profile and training facts
VECTOR_SUFFIX = ".faiss"
THUMBNAIL_SUFFIX = ".png"
HASH_CHUNK = 1 << 20  # bytes read per step when hashing a file
MODEL_ID_LENGTH = 16  # hex digits of the weights' sha256 kept as a model's id


def content_hash(path: str | Path) -> str:
    """sha256 of a file's bytes: what identifies an image's content across renames and copies."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def bytes_hash(data: bytes) -> str:
    """sha256 of bytes in memory (an upload), equal to `content_hash` of the same bytes in a file."""
    return hashlib.sha256(data).hexdigest()


WEIGHT_PATTERNS = ("*.safetensors", "*.bin")  # weight files of every model family radsearch reads


def weights_hash(directory: str | Path, patterns: tuple[str, ...] = WEIGHT_PATTERNS) -> str:
    """A model's id: the sha256 prefix of its weight files (in subfolders too), in path order. Changing any
    weight changes it; it is what a library records its vectors were made with."""
    directory = Path(directory)
    files = sorted({path for pattern in patterns for path in directory.rglob(pattern) if path.is_file()})
    digest = hashlib.sha256()
    for path in files:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(HASH_CHUNK), b""):
                digest.update(chunk)
    return digest.hexdigest()[:MODEL_ID_LENGTH]


@contextmanager
def atomic_path(path: str | Path, durable: bool = True) -> Iterator[Path]:
    """A temporary sibling of `path` to write; renamed over `path` when the block succeeds, removed if not.

    durable=True fsyncs before the rename, so a power cut cannot leave an empty file under the new
    name; derived files that the next run redraws anyway (thumbnails) skip it for speed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if durable:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | Path, data: bytes, durable: bool = True) -> None:
    """Write `data` to `path` atomically (see `atomic_path`)."""
    with atomic_path(path, durable) as tmp:
        tmp.write_bytes(data)


def replace_directory(new: Path, directory: Path) -> None:
    """Swap a fully written directory `new` in for `directory` (two renames; the old one is deleted after)."""
    if not directory.exists():
        os.replace(new, directory)
        return
    old = directory.with_name(directory.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    os.replace(directory, old)
    os.replace(new, directory)
    shutil.rmtree(old, ignore_errors=True)


def is_temporary(path: Path) -> bool:
    """Whether a file is the leftover of an interrupted atomic write (a dot-file beside its target)."""
    return path.name.startswith(".")


@dataclass(frozen=True)
class LibraryPaths:
    """The layout of a library folder: every path radsearch reads or writes inside it."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def catalog(self) -> Path:
        return self.root / CATALOG_FILE  # only when the catalog is SQLite

    @property
    def vectors(self) -> Path:
        return self.root / VECTORS_DIR

    @property
    def model(self) -> Path:
        return self.root / MODEL_DIR

    @property
    def thumbs(self) -> Path:
        return self.root / THUMBS_DIR

    @property
    def heads(self) -> Path:
        return self.root / HEADS_DIR

    @property
    def curation(self) -> Path:
        return self.root / CURATION_DIR

    def vector_index(self, kind: str) -> Path:
        """The FAISS file of one kind of vector: images, reports or sentences."""
        return self.vectors / f"{kind}{VECTOR_SUFFIX}"

    def thumbnail(self, image_id: int) -> Path:
        """The stored preview of one image, named by its catalog id."""
        return self.thumbs / f"{int(image_id)}{THUMBNAIL_SUFFIX}"

    @staticmethod
    def thumbnail_id(path: Path) -> int | None:
        """The image id a thumbnail file is named after; None for any other file."""
        return int(path.stem) if path.suffix == THUMBNAIL_SUFFIX and path.stem.isdigit() else None

    def thumbnail_ids(self) -> set[int]:
        """Ids of the images that have a thumbnail on disk."""
        if not self.thumbs.is_dir():
            return set()
        return {i for i in (self.thumbnail_id(p) for p in self.thumbs.iterdir()) if i is not None}
