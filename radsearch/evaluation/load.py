"""Concurrent search load: client processes issue mixed image and text searches against one library
while something else (the indexer) changes it, and record latency, errors and incomplete answers.

Used by `benchmarks/load.py` (throughput, p50/p99) and by the test suite (zero errors, no half-written
index ever seen, new studies visible to running readers).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FILTER = {"body_part": "CHEST"}  # one query in three carries it


@dataclass
class LoadReport:
    """What the clients saw, all together."""

    clients: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    incomplete: int = 0  # answers with fewer results than k while the library had k matches
    images_seen: list[tuple[int, int]] = field(default_factory=list)  # per client: index size at first and last query

    @property
    def queries(self) -> int:
        return len(self.latencies_ms)

    @property
    def throughput(self) -> float:
        return self.queries / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")

    def __str__(self) -> str:
        return (f"{self.clients} clients, {self.queries} searches in {self.seconds:.1f} s: {self.throughput:.1f}/s, "
                f"p50 {self.percentile(50):.1f} ms, p99 {self.percentile(99):.1f} ms, {len(self.errors)} errors, "
                f"{self.incomplete} incomplete answers")


def _client(library: str, images: list[str], texts: list[str], k: int, seed: int, threads: int,
            ready, go, stop, out) -> None:  # noqa: ANN001 - multiprocessing events and queue
    """One reader process: open the library, wait for the start, search until told to stop."""
    import torch

    from ..library import open_library
    torch.set_num_threads(threads)  # clients share the cores, as a deployment's workers would be set up
    rng = random.Random(seed)
    latencies: list[float] = []
    errors: list[str] = []
    incomplete = 0
    sizes: list[int] = []
    try:
        lib = open_library(library)
        _ = lib.encoder
        lib.search.text(texts[0], k)  # warm: indexes loaded, first-call costs paid before timing
    except Exception as e:  # noqa: BLE001 - reported to the parent, which fails the run
        out.put({"errors": [f"open: {e!r}"], "latencies": [], "incomplete": 0, "sizes": []})
        ready.set()
        return
    ready.set()
    go.wait()
    parent = os.getppid()
    while not stop.is_set() and os.getppid() == parent:  # a killed parent must not leave clients searching
        filtered = rng.random() < 1 / 3
        where = FILTER if filtered else None
        started = time.perf_counter()
        try:
            if rng.random() < 0.5:
                hits = lib.search.image(rng.choice(images), k, where=where, include_own=True)
            else:
                hits = lib.search.text(rng.choice(texts), k, where=where)
            latencies.append(1000 * (time.perf_counter() - started))
            size = lib.search.searchable("images")
            sizes.append(size)
            if len(hits) < min(k, size) and not filtered:
                incomplete += 1
            if any(not hit.path or (filtered and hit.metadata.get("body_part") != "CHEST") for hit in hits):
                incomplete += 1
        except Exception:  # noqa: BLE001 - every failure is the finding
            errors.append(traceback.format_exc(limit=3))
    out.put({"errors": errors, "latencies": latencies, "incomplete": incomplete, "sizes": sizes})


def run_load(library: str | Path, images: list[str], texts: list[str], clients: int = 4, k: int = 10,
             during: Callable[[], None] | None = None, seconds: float = 10.0, settle: float = 2.0) -> LoadReport:
    """Run `clients` reader processes; `during` (e.g. an indexing run) runs in this process meanwhile.

    The clients search for `seconds`, or for as long as `during` takes plus `settle` seconds (so that
    they show whether a running reader sees what was added). Clients are separate processes, as the
    UI's sessions or API workers of a deployment would be, each with its own model and indexes.
    """
    context = mp.get_context("spawn")  # torch and FAISS do not survive fork reliably
    threads = max(1, (os.cpu_count() or 1) // clients)
    go, stop = context.Event(), context.Event()
    out = context.Queue()
    readies = [context.Event() for _ in range(clients)]
    processes = [context.Process(target=_client, daemon=True,
                                 args=(str(library), images, texts, k, seed, threads, ready, go, stop, out))
                 for seed, ready in enumerate(readies)]
    for process in processes:
        process.start()
    for ready in readies:
        ready.wait(timeout=600)
    go.set()
    started = time.perf_counter()
    if during is not None:
        during()
        time.sleep(settle)
    else:
        time.sleep(seconds)
    stop.set()
    elapsed = time.perf_counter() - started
    results = [out.get(timeout=600) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    report = LoadReport(clients, elapsed)
    for result in results:
        report.latencies_ms.extend(result["latencies"])
        report.errors.extend(result["errors"])
        report.incomplete += result["incomplete"]
        if result["sizes"]:
            report.images_seen.append((result["sizes"][0], result["sizes"][-1]))
    return report
