"""Loading rows that are already embedded, without the indexer: a library built from vectors and metadata
another system made (an export, a migration, a benchmark of 10^6 images), through the same storage calls.

Each batch is one `Catalog.write_batch` transaction with its thumbnails, as the indexer writes it; the vector
indexes are built once at the end from the catalog (one training of an IVF index instead of one append per
batch). An interrupted load keeps every committed batch, and opening the library brings the indexes in line.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from .rows import NewImage, NewReport
from .store import LibraryStore
from .thumbnails import write_thumbnail

log = logging.getLogger(__name__)


@dataclass
class BulkBatch:
    """Rows for one transaction: images with a thumbnail PNG each (same order), and study reports."""

    images: Sequence[NewImage]
    thumbnails: Sequence[bytes]
    reports: Sequence[NewReport] = field(default_factory=list)


def bulk_load(store: LibraryStore, batches: Iterable[BulkBatch],
              progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Write the batches, then rebuild every vector index from the catalog; vectors per kind.

    `progress` is told how many images each committed batch held.
    """
    for batch in batches:
        if len(batch.thumbnails) != len(batch.images):
            raise ValueError(f"a bulk batch holds {len(batch.images)} images but {len(batch.thumbnails)} thumbnails")
        written = store.catalog.write_batch(batch.images, batch.reports)
        for image_id, png in zip(written.images[0], batch.thumbnails):
            write_thumbnail(store, image_id, png)
        if progress is not None:
            progress(len(batch.images))
    counts = store.rebuild_vectors()
    log.info("bulk load: vector indexes built (%s)", ", ".join(f"{n} {kind}" for kind, n in counts.items()))
    return counts
