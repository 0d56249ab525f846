"""The small previews curation reads: the indexer's stored thumbnails, decoded again only where one is lost."""

from __future__ import annotations

import logging

import numpy as np
from PIL import Image as PILImage
from sqlalchemy import select

from ..errors import UnreadableImage
from ..imaging import read_frame
from ..storage.catalog import Image
from ..storage.store import LibraryStore

log = logging.getLogger(__name__)


def preview(store: LibraryStore, image_id: int) -> np.ndarray | None:
    """The stored preview of an image as float32 [0, 1] (H, W); None when neither it nor its file can be read."""
    path = store.paths["thumbs"] / f"{int(image_id)}.png"
    try:
        with PILImage.open(path) as image:
            return np.asarray(image.convert("L"), np.float32) / 255.0
    except (OSError, ValueError):
        return _from_source(store, image_id)


def _from_source(store: LibraryStore, image_id: int) -> np.ndarray | None:
    with store.catalog.session() as s:
        row = s.execute(select(Image.path, Image.frame).where(Image.id == int(image_id))).first()
    if row is None:
        return None
    try:
        image = PILImage.fromarray(read_frame(row.path, row.frame).pixels)
    except UnreadableImage as e:
        log.warning("image %d has no preview and its file cannot be read: %s", image_id, e)
        return None
    side = store.config.thumbnail_size
    image.thumbnail((side, side), PILImage.Resampling.BILINEAR)
    return np.clip(np.round(np.asarray(image, np.float32) * 255), 0, 255) / 255.0  # quantised as a stored one
