"""One writer at a time per library: indexing, removing, rebuilding and repairing hold a lock on the folder.

Each writer keeps its vector indexes in memory and saves them whole, so two writers at once would each save
the vectors they hold and the later save would drop the other's (the catalog keeps the rows, the index loses
them). The lock is an advisory file lock (filelock: flock on Linux, so it is released when the holding
process dies, however it dies); it guards writers on one machine, not across a network file system.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from ..errors import LibraryBusy
from ..files import CONFIG_FILE

log = logging.getLogger(__name__)
LOCK_FILE = "writer.lock"


@contextmanager
def one_writer(root: str | Path, wait: float | None = 0.0) -> Iterator[None]:
    """Hold the library's writer lock for the block; wait up to `wait` seconds (None: as long as it takes) for
    another writer to finish, else raise LibraryBusy naming the library and what to do."""
    root = Path(root)
    if not (root / CONFIG_FILE).is_file():  # not a library: nothing to guard, and the caller names the mistake
        yield
        return
    lock = FileLock(root / LOCK_FILE, timeout=-1 if wait is None else wait)
    try:
        lock.acquire()
    except Timeout:
        message = (f"another radsearch process is writing to the library {root} (indexing, removing, rebuilding or "
                   "repairing it); run this again when it has finished")
        log.warning(message)
        raise LibraryBusy(message) from None
    try:
        yield
    finally:
        lock.release()
