"""Removing images from a library: named files or folders, or whatever has vanished from disk."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import select

from ..storage import Image, LibraryStore

log = logging.getLogger(__name__)


def images_under(store: LibraryStore, paths: Iterable[str | Path]) -> list[int]:
    """Ids of the images stored from these files, or from any file below these folders."""
    targets = [Path(p).resolve() for p in paths]
    found = []
    with store.catalog.session() as s:
        for image_id, stored in s.execute(select(Image.id, Image.path)):
            path = Path(stored)
            if any(path == t or path.is_relative_to(t) for t in targets):
                found.append(image_id)
    return found


def missing_images(store: LibraryStore, under: Path | None = None) -> list[int]:
    """Ids of images whose file no longer exists (only below `under`, when given)."""
    root = under.resolve() if under else None
    with store.catalog.session() as s:
        rows = list(s.execute(select(Image.id, Image.path)))
    return [image_id for image_id, stored in rows
            if (root is None or Path(stored).is_relative_to(root)) and not Path(stored).exists()]


def remove(library: str | Path, paths: Iterable[str | Path] = (), missing: bool = False) -> dict[str, int]:
    """Remove the images of `paths` (files or folders), and with `missing` every image whose file is gone."""
    store = LibraryStore.open(library)
    ids = set(images_under(store, paths))
    if missing:
        ids |= set(missing_images(store))
    removed = store.remove_images(sorted(ids))
    log.info("removed %s from %s", removed, library)
    return removed
