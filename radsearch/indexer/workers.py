"""Decode worker processes: files are decoded ahead, in order, while the main process embeds.

The queue is bounded (a few files per worker), so a fast decoder never piles decoded images up in
memory while a slow encoder catches up. On Linux workers are forked, as torch's DataLoader does:
they start instantly, need no `if __name__ == "__main__"` guard in the caller's script, and run
only imaging code (no torch, no OpenMP), which is what makes forking a torch process safe.
Elsewhere they are spawned.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from ..errors import RadsearchError
from ..imaging import PreprocessProfile
from .prepare import Prepared, timed_prepare
from .scan import ScanItem

MAX_WORKERS = 8  # beyond this the catalog writer, not decoding, bounds a single machine
AHEAD_PER_WORKER = 8  # files decoded ahead per worker: enough to hide the encoder's batch cadence

Decoded = tuple[ScanItem, Prepared, float]


def default_workers() -> int:
    """Decode processes for this machine: one per core (up to MAX_WORKERS).

    Decoding a radiograph costs several times what batched embedding does with the CPU presets
    (benchmarks/index.py), so every core decodes and the main process embeds in between.
    """
    return max(1, min(MAX_WORKERS, os.cpu_count() or 1))


def decoded(items: Iterable[ScanItem], profile: PreprocessProfile, preview_side: int,
            workers: int) -> Iterator[Decoded]:
    """(item, frames or error, decode seconds) for each item, in order; workers=0 decodes inline."""
    if workers <= 0:
        for item in items:
            yield (item, *timed_prepare(item.path, profile, preview_side))
        return
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() and sys.platform == "linux" else "spawn"
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method))
    pending: deque[tuple[ScanItem, Future]] = deque()
    source = iter(items)

    def submit_next() -> None:
        item = next(source, None)
        if item is not None:
            pending.append((item, pool.submit(timed_prepare, item.path, profile, preview_side)))

    try:
        for _ in range(workers * AHEAD_PER_WORKER):
            submit_next()
        while pending:
            item, future = pending.popleft()
            submit_next()
            try:
                result, seconds = future.result()
            except BrokenProcessPool as e:
                raise RadsearchError(f"a decode worker process stopped while reading {item.path} (killed, out of "
                                     "memory, or a crash inside a decoder); what was indexed so far is kept: "
                                     "re-run, with fewer --workers if memory is short") from e
            yield item, result, seconds
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
