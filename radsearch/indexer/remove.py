"""Removing images from a library: named files or folders, or whatever has vanished from disk."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from ..storage import LibraryStore, RemovedRows

log = logging.getLogger(__name__)


def images_under(store: LibraryStore, paths: Iterable[str | Path]) -> list[int]:
    """Ids of the images stored from these files, or from any file below these folders."""
    targets = [Path(p).resolve() for p in paths]
    return [place.id for place in store.catalog.locations()
            if any(Path(place.path) == t or Path(place.path).is_relative_to(t) for t in targets)]


def missing_images(store: LibraryStore, under: Path | None = None) -> list[int]:
    """Ids of images whose file no longer exists (only below `under`, when given)."""
    root = under.resolve() if under else None
    return [place.id for place in store.catalog.locations()
            if (root is None or Path(place.path).is_relative_to(root)) and not Path(place.path).exists()]


def remove_files(store: LibraryStore, paths: Iterable[str | Path] = (), missing: bool = False) -> RemovedRows:
    """Remove the images of `paths` (files or folders), and with `missing` every image whose file is gone."""
    ids = set(images_under(store, paths))
    if missing:
        ids |= set(missing_images(store))
    removed = store.remove_images(sorted(ids))
    log.info("removed %s from %s", removed.counts(), store.root)
    return removed
