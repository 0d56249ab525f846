"""`radsearch repair`: rebuild what is derived from the catalog (FAISS indexes, thumbnails) and clear the
leftovers of killed writes. The catalog is only read: a damaged catalog is refused, never "fixed"."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from PIL import Image as PILImage

from ..errors import LibraryCorrupt
from ..files import LibraryPaths, is_temporary
from .integrity import CheckReport, check_library
from .store import LibraryStore, disk_full_is_reported
from .thumbnails import repair_thumbnails
from .writer import one_writer

log = logging.getLogger(__name__)


@dataclass
class RepairSummary:
    """What repair did, and the check of the library afterwards (problems repair cannot mend stay listed)."""

    vectors: dict[str, int]  # kind -> vectors in its rebuilt index
    files_removed: int  # leftovers of interrupted writes and thumbnails of removed images
    thumbnails_drawn: int
    after: CheckReport

    def __str__(self) -> str:
        rebuilt = ", ".join(f"{kind}: {n} vectors" for kind, n in self.vectors.items())
        return (f"rebuilt the FAISS indexes from the catalog ({rebuilt}); removed {self.files_removed} leftover files; "
                f"drew {self.thumbnails_drawn} thumbnails\n{self.after}")


def repair_library(root: str | Path) -> RepairSummary:
    """Mend a library from its catalog. Raises LibraryCorrupt when the catalog itself is damaged, LibraryBusy
    while another process writes to it (its temporary files would look like leftovers)."""
    with one_writer(root):
        return _repair(root)


def _repair(root: str | Path) -> RepairSummary:
    before = check_library(root)
    damaged = [p for p in before.problems if p.what == "catalog" or p.what.startswith("catalog ")]
    if damaged:
        raise LibraryCorrupt(f"{damaged[0].what if damaged[0].what != 'catalog' else damaged[0].fix}; "
                             "repair rebuilds FAISS and thumbnails from the catalog, so the catalog must be whole")
    store = LibraryStore.open(root)
    with disk_full_is_reported(store.root):
        vectors = store.rebuild_vectors()
        removed = _remove_leftovers(store)
        drawn = repair_thumbnails(store)
    log.info("repaired %s: %s vectors, %d files removed, %d thumbnails drawn", store.root, vectors, removed, drawn)
    return RepairSummary(vectors, removed, drawn, check_library(root))


def _remove_leftovers(store: LibraryStore) -> int:
    """Delete temporary files of interrupted writes, thumbnails of removed images and unreadable thumbnails
    (repair_thumbnails then draws those again from the source files)."""
    ids = set(store.catalog.ids("images").tolist())
    removed = 0
    for folder in (store.paths.vectors, store.paths.thumbs):
        for path in sorted(folder.iterdir()) if folder.is_dir() else []:
            if not path.is_file():
                continue
            image_id = LibraryPaths.thumbnail_id(path)
            if is_temporary(path) or (image_id is not None and (image_id not in ids or not _readable(path))):
                path.unlink()
                removed += 1
    return removed


def _readable(path: Path) -> bool:
    try:
        with PILImage.open(path) as image:
            image.verify()
        return True
    except (OSError, SyntaxError, ValueError):
        return False

