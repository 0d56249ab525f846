"""Two radsearch processes on one machine against one alone, in the same run: does throughput collapse?

Each workload runs in one process alone, then in two processes started together, first with torch and
FAISS on every core (what a process gets when nothing sizes its threads) and then with radsearch's
sizing (radsearch.threads: what `radsearch serve`, `radsearch ui`, `radsearch search` and the indexer
set). Workloads, on the demo library:
  search   text and image queries, one at a time, as an API or UI worker answers them
  embed    the indexer's embedding step: preprocessed images through the encoder in batches of 32
  index    `radsearch index` of a small archive into a new library (decode workers, embed, write)
Prints, per workload and sizing, each process's rate and the two processes' total against the one alone.

    python benchmarks/threads.py --demo DEMO_DIR [--workloads search embed index] [--seconds 20]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUERIES = ["left pleural effusion", "cardiomegaly", "right pneumothorax", "normal chest radiograph",
           "nodule in the right upper zone", "fracture of the distal radius"]
INDEX_FILES = 400


def worker(workload: str, demo: Path, threads: str, go: Path, seconds: float, scratch: Path) -> dict:
    """Runs inside a child: prepare, wait for the start signal, work for `seconds`, return the rate."""
    import numpy as np

    import radsearch
    from radsearch.datasets import read_manifest
    from radsearch.imaging import preprocess, read
    from radsearch.models import encode_images
    from radsearch.threads import threads_for

    if threads == "all":  # no sizing anywhere: RADSEARCH_THREADS overrides every rule, the indexer's cap included
        os.environ["RADSEARCH_THREADS"] = str(os.cpu_count() or 1)
    count = radsearch.set_threads(threads_for("serve" if threads == "all" else threads))
    lib = radsearch.open_library(demo / "library")
    records = read_manifest(demo / "archive" / "manifest.csv")
    images = [r.path for r in records[:40]]
    if workload == "search":
        lib.search.text(QUERIES[0], 10)
        lib.search.image(images[0], 10)
    elif workload == "embed":
        pixels = np.stack([preprocess(read(path), lib.encoder.profile) for path in images * 8])
        encode_images(lib.encoder, pixels[:32], 32)
    else:
        sources = [Path(r.path) for r in records[:INDEX_FILES]]
    while not go.exists():
        time.sleep(0.01)
    started, done, n = time.perf_counter(), 0, 0
    while time.perf_counter() - started < seconds:
        if workload == "search":
            if n % 2:
                lib.search.text(QUERIES[n % len(QUERIES)], 10)
            else:
                lib.search.image(images[n % len(images)], 10)
            done += 1
        elif workload == "embed":
            encode_images(lib.encoder, pixels, 32)
            done += len(pixels)
        else:
            target = scratch / f"lib-{os.getpid()}-{n}"
            summary = radsearch.index(_archive(sources, scratch, n), target, demo / "model", progress=False)
            done += summary.added
            shutil.rmtree(target, ignore_errors=True)
        n += 1
    return {"rate": done / (time.perf_counter() - started), "threads": count}


def _archive(sources: list[Path], scratch: Path, n: int) -> Path:
    """A folder of links to the first INDEX_FILES demo images (one per run: each run indexes them anew)."""
    folder = scratch / f"archive-{os.getpid()}-{n}"
    folder.mkdir(parents=True, exist_ok=True)
    for i, path in enumerate(sources):
        (folder / f"{i:04d}{path.suffix}").symlink_to(path)
    return folder


def run(workload: str, demo: Path, threads: str, processes: int, seconds: float, scratch: Path) -> list[float]:
    go = scratch / f"go-{workload}-{threads}-{processes}"
    go.unlink(missing_ok=True)
    children = [subprocess.Popen([sys.executable, __file__, "--child", workload, "--demo", str(demo), "--threads",
                                  threads, "--go", str(go), "--seconds", str(seconds), "--scratch", str(scratch)],
                                 stdout=subprocess.PIPE, text=True) for _ in range(processes)]
    time.sleep(20 if workload != "index" else 10)  # every child opened its library and warmed up
    go.touch()
    rates = [json.loads(child.communicate()[0].strip().splitlines()[-1])["rate"] for child in children]
    print(f"  {workload}, threads {threads}, {processes} process(es): " + ", ".join(f"{r:.1f}/s" for r in rates),
          flush=True)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demo", type=Path, required=True)
    parser.add_argument("--workloads", nargs="+", default=["search", "embed", "index"])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--child")
    parser.add_argument("--threads", default="all")
    parser.add_argument("--go", type=Path)
    parser.add_argument("--scratch", type=Path)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(worker(args.child, args.demo, args.threads, args.go, args.seconds, args.scratch)))
        return
    scratch = Path(tempfile.mkdtemp(prefix="radsearch-threads-"))
    rows = []
    for workload in args.workloads:
        role = "index" if workload == "index" else "serve"
        for threads in ("all", role):
            alone = run(workload, args.demo, threads, 1, args.seconds, scratch)[0]
            pair = run(workload, args.demo, threads, 2, args.seconds, scratch)
            rows.append((workload, "every core" if threads == "all" else f"radsearch ({role})", alone, pair))
    unit = {"search": "queries/s", "embed": "images/s", "index": "images/s"}
    print(f"\n{os.cpu_count()} cores\n\n| workload | threads | one process | each of two at once | two together | "
          "vs one alone |\n|---|---|---:|---:|---:|---:|")
    for workload, sizing, alone, pair in rows:
        print(f"| {workload} ({unit[workload]}) | {sizing} | {alone:.1f} | {pair[0]:.1f}, {pair[1]:.1f} | "
              f"{sum(pair):.1f} | {sum(pair) / alone:.2f}x |")
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
