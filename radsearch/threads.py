"""How many threads torch and FAISS take in each kind of radsearch process, so that two on one machine
do not collapse.

Both libraries run OpenMP thread teams whose threads wait for each other at every operation. When two
processes each start a team as large as the machine, the teams' threads are descheduled in the middle
of those waits and every small operation waits for a time slice: on 2 cores two trainings ran at 4-5 s
a step instead of 0.25 s. Sizing each team to a share of the cores avoids it (benchmarks/threads.py
measures two processes against one). RADSEARCH_THREADS overrides every rule below.
"""

from __future__ import annotations

import os

THREADS_ENV = "RADSEARCH_THREADS"
ROLES = ("serve", "index", "train")


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity, which containers and `taskset` narrow)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def threads_for(role: str, decode_workers: int = 0) -> int:
    """Threads for one process of `role`:

    serve  an API or UI worker, or `radsearch search`: half the cores. A query's encoder call and index
           search are small, so more threads barely shorten one, and the other half stays free for a
           second worker or the indexer.
    index  the indexer's main process, which embeds while `decode_workers` processes decode: the cores
           those workers leave, at least one (`indexer_threads` revises it once both stages are timed).
    train  every core (training runs alone); `radsearch train --threads` wins (training.loop.training_threads).
    """
    if role not in ROLES:
        raise ValueError(f"no thread rule for {role!r}; roles are {', '.join(ROLES)}")
    override = os.environ.get(THREADS_ENV, "").strip()
    if override:
        if not override.isdigit() or int(override) < 1:
            raise ValueError(f"{THREADS_ENV}={override!r} is not a positive number of threads; unset it or give "
                             "one such as 2")
        return int(override)
    cores = usable_cores()
    if role == "serve":
        return max(1, cores // 2)
    if role == "index":
        return max(1, cores - decode_workers)
    return cores


def indexer_threads(decode_workers: int, decode_seconds: float, embed_seconds: float) -> int:
    """Threads for the indexer's encoder once a few batches have timed both stages (seconds per image: decode
    summed over the workers, embed on the threads `threads_for("index")` gave). Where embedding costs more than
    decoding, the workers are idle most of the time, waiting for room in their queue, so the encoder takes every
    core (ViT-S at 224 px: 13 images/s on one thread of two, 27 on both); elsewhere it keeps the cores they leave
    (the tiny preset: decoding is 8x the work)."""
    if os.environ.get(THREADS_ENV, "").strip() or embed_seconds < decode_seconds:
        return threads_for("index", decode_workers)
    return usable_cores()
