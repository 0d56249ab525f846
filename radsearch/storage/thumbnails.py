"""The library's thumbnails: one small PNG per image, named by its id, derived from the source file.

The indexer writes them, the UI shows them, curation compares them, `repair` redraws the missing ones.
"""

from __future__ import annotations

import logging

import numpy as np

from ..errors import UnreadableImage
from ..files import atomic_write_bytes, is_temporary
from ..imaging import preview_pixels, preview_png, read_frame, read_png_preview
from .store import LibraryStore

log = logging.getLogger(__name__)


def write_thumbnail(store: LibraryStore, image_id: int, png: bytes) -> None:
    """Store one image's preview; derived data, so not fsynced (a lost one is redrawn by the next run)."""
    atomic_write_bytes(store.paths.thumbnail(image_id), png, durable=False)


def thumbnail_pixels(store: LibraryStore, image_id: int) -> np.ndarray | None:
    """An image's preview as float32 [0, 1] (H, W): the stored thumbnail, else drawn again from its file;
    None when neither can be read."""
    try:
        return read_png_preview(store.paths.thumbnail(image_id))
    except (OSError, ValueError):
        places = store.catalog.locations([int(image_id)])
        if not places:
            return None
        try:
            return preview_pixels(read_frame(places[0].path, places[0].frame), store.config.thumbnail_size)
        except UnreadableImage as e:
            log.warning("image %d has no preview and its file cannot be read: %s", image_id, e)
            return None


def repair_thumbnails(store: LibraryStore, leftovers_before: float | None = None) -> int:
    """Draw the previews a killed run committed rows for but never drew; returns how many. With
    `leftovers_before` (a time), first delete the temporary files of interrupted preview writes older than it:
    a write in progress lasts milliseconds, so one from before this run started was killed."""
    if leftovers_before is not None and store.paths.thumbs.is_dir():
        for path in store.paths.thumbs.iterdir():
            try:
                if is_temporary(path) and path.stat().st_mtime < leftovers_before:
                    path.unlink()
            except FileNotFoundError:  # renamed or removed by its writer meanwhile
                pass
    lacking = sorted(set(store.catalog.ids("images").tolist()) - store.paths.thumbnail_ids())
    if not lacking:
        return 0
    for place in store.catalog.locations(lacking):
        try:
            write_thumbnail(store, place.id, preview_png(read_frame(place.path, place.frame),
                                                         store.config.thumbnail_size))
        except UnreadableImage as e:
            log.warning("no preview for image %d: %s", place.id, e)
    log.info("drew %d missing previews", len(lacking))
    return len(lacking)
