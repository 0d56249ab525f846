"""FAISS index types at library scale: build time, query time and recall@10 against exact (Flat) search.

Vectors are unit-normalised points around 2,000 cluster centres in 128 dimensions, a stand-in for
embeddings of an archive with many similar cases. Every index is built with radsearch's
FAISS backend (`FaissIndex.build`) and searched with its own settings (HNSW efSearch, IVF nprobe), so the figures
are what `radsearch` does. Flat is the baseline measured in the same run.

    python benchmarks/vector_index.py [--n 200000] [--queries 500] [--specs Flat HNSW32 IVF1024,PQ32]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from radsearch.storage.vectors import FaissIndex


def clustered(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((2000, dim)).astype(np.float32)
    points = centres[rng.integers(0, len(centres), n)] + 0.6 * rng.standard_normal((n, dim)).astype(np.float32)
    return points / np.linalg.norm(points, axis=1, keepdims=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--specs", nargs="+", default=["Flat", "HNSW32", "IVF1024,PQ32"])
    args = parser.parse_args()
    vectors = clustered(args.n + args.queries, args.dim, seed=0)
    base, queries = vectors[:args.n], vectors[args.n:]
    ids = np.arange(args.n, dtype=np.int64)
    truth = None
    print(f"{args.n} vectors of {args.dim} dims, {args.queries} queries, k=10")
    print(f"{'index':<16}{'build s':>9}{'ms/query':>10}{'speed-up':>10}{'recall@10':>11}")
    flat_ms = None
    for spec in args.specs:
        started = time.perf_counter()
        index = FaissIndex.build(args.dim, spec, ids, base)
        build = time.perf_counter() - started
        started = time.perf_counter()
        found = np.vstack([index.search(q, 10)[1] for q in queries])  # one query at a time, as users search
        ms = (time.perf_counter() - started) * 1000 / len(queries)
        if truth is None:
            truth, flat_ms = found, ms
        recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth)])
        print(f"{spec:<16}{build:>9.1f}{ms:>10.2f}{flat_ms / ms:>9.1f}x{recall:>11.3f}")


if __name__ == "__main__":
    main()
