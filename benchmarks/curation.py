"""Curation on an archive with planted problems: precision and recall per problem, and the time of the
vector stage (kNN graph and near-duplicate clusters) at 10^6 vectors against all-pairs comparison.

    python benchmarks/curation.py [--demo DIR] [--studies 400] [--vectors 1000000]

The archive is synthetic (datasets.synthetic) with problems planted by datasets.planting; it is
indexed with the demo model (built in DIR when absent). Copy the printed table into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from radsearch import index, open_library
from radsearch.curation.neighbours import knn_graph
from radsearch.datasets.planting import plant_problems
from radsearch.datasets.synthetic import generate_archive
from radsearch.demo import prepare_demo


def pr(found: set, truth: set) -> tuple[float, float, int, int]:
    hit = len(found & truth)
    return (hit / len(found) if found else 1.0), (hit / len(truth) if truth else 1.0), len(found), len(truth)


def pairs_of(groups) -> set[frozenset]:  # noqa: ANN001
    out = set()
    for g in groups:
        paths = [m["path"] for m in g.members]
        out |= {frozenset((a, b)) for i, a in enumerate(paths) for b in paths[i + 1:]}
    return out


def quality(work: Path, demo: Path, studies: int) -> list[tuple[str, tuple]]:
    archive, library = work / "archive", work / "library"
    shutil.rmtree(archive, ignore_errors=True)
    shutil.rmtree(library, ignore_errors=True)
    generate_archive(archive, studies=studies, seed=11, progress=False)
    truth = json.loads(plant_problems(archive, seed=11).read_text())
    index(archive, library, model_dir=demo / "model", progress=False)
    curate = open_library(library).curate
    started = time.perf_counter()
    exact = curate.exact_duplicates()
    near = curate.near_duplicates()
    leaks = curate.leakage(groups=exact + near)
    outliers = curate.outliers()
    noise = curate.label_noise()
    seconds = time.perf_counter() - started
    rows = []
    rows.append(("exact duplicates (pairs)", pr(pairs_of(exact), {frozenset(p) for p in truth["exact"]})))
    rows.append(("near duplicates (pairs)", pr(pairs_of(near), {frozenset(p) for p in truth["near"]})))
    leaked = {r["path"] for r in leaks}
    rows.append(("leaked patients (train images)", pr({r["path"] for r in leaks if r["kind"].startswith("patient")},
                                                       set(truth["leaked_patient"]))))
    rows.append(("near-duplicate leaks", pr({r["path"] for r in leaks if "near" in r["kind"]},
                                            set(truth["near_leak"]))))
    rows.append(("all leakage", pr(leaked, set(truth["leaked_patient"]) | set(truth["near_leak"]))))
    for problem in ("wrong_anatomy", "inverted", "bad_window", "burned_in_text"):
        rows.append((problem.replace("_", " "), pr({r["path"] for r in outliers if r["problem"] == problem},
                                                   set(truth[problem]))))
    rows.append(("flipped labels", pr({(r["path"], r["label"]) for r in noise},
                                      {tuple(p) for p in truth["flipped_label"]})))
    images = open_library(library).count()
    print(f"archive: {studies} studies, {images} indexed images; curation took {seconds:.1f} s on this machine")
    return rows


def vector_stage(n: int, dim: int = 128, seed: int = 0) -> tuple[float, float, float]:
    """(seconds for the FAISS kNN graph at n, all-pairs seconds at n extrapolated from a measured subset,
    recall of planted near-identical vectors)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(1000, dim)).astype(np.float32)
    vectors = centres[rng.integers(0, 1000, n)] + 0.5 * rng.normal(size=(n, dim)).astype(np.float32)
    planted = rng.choice(n - 1, 1000, replace=False)
    vectors[planted + 1] = vectors[planted] + 0.01 * rng.normal(size=(1000, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(n, dtype=np.int64)
    started = time.perf_counter()
    neighbours, _ = knn_graph(ids, vectors, 10)
    knn_seconds = time.perf_counter() - started
    recall = float(np.mean(neighbours[planted, 0] == planted + 1))
    sub = min(n, 20_000)
    started = time.perf_counter()
    for start in range(0, sub, 2000):
        scores = vectors[start:start + 2000] @ vectors[:sub].T
        np.argpartition(-scores, 11, axis=1)[:, :11]
    pair_seconds = (time.perf_counter() - started) * (n / sub) ** 2
    return knn_seconds, pair_seconds, recall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", type=Path, default=None, help="a demo workdir (built there when absent)")
    parser.add_argument("--studies", type=int, default=400)
    parser.add_argument("--vectors", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, help="keep the archive and library here (default: a temporary folder)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="radsearch-curation-"))
    try:
        demo = args.demo or work / "demo"
        if not (demo / "model").is_dir():
            prepare_demo(demo)
        rows = quality(work, demo, args.studies)
        print("\n| planted problem | precision | recall | found | planted |\n|---|---:|---:|---:|---:|")
        for name, (p, r, found, planted) in rows:
            print(f"| {name} | {p:.2f} | {r:.2f} | {found} | {planted} |")
        knn_seconds, pair_seconds, recall = vector_stage(args.vectors)
        print(f"\nvector stage at {args.vectors:,} vectors (128-d): FAISS kNN graph (k=10) {knn_seconds:.0f} s; "
              f"all-pairs numpy (extrapolated from 20,000) {pair_seconds:.0f} s; "
              f"ratio {pair_seconds / knn_seconds:.1f}x; planted near-identical pairs found {recall:.3f}")
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
