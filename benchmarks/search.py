"""Query latency at 10^4, 10^5 and 10^6 vectors: radsearch's vector index against numpy brute force.

Synthetic clustered unit vectors stand in for a library's embeddings (the issue allows it for the
large sizes); the index type is what an "auto" library picks at that size (Flat below 10^5, then
IVF{nlist},Flat). For each size, 200 queries near library vectors are timed, k=10:
  unfiltered     the FAISS backend's VectorIndex.search
  filtered 1%    a selective metadata filter (1% of the ids), applied inside FAISS (id selector)
  brute force    numpy: one matrix-vector product and argpartition (the baseline), same filters
Text and image queries add the time to a vector with the `tiny` preset: its text tower on report
phrases, and read + preprocess + image tower on a 1024x1024 DICOM.
Recall@10 compares each radsearch result list with the exact one. A product-quantised index's candidates are
re-ranked by their full vectors, as the planner does (`VectorIndex.refine`).

    python benchmarks/search.py [--sizes 10000 100000 1000000] [--dim 128]
    python benchmarks/search.py --sizes 1000000 --spec HNSW32 --hnsw-ef 1024   # other index types
    python benchmarks/search.py --sizes 10000000 --spec IVF16384,SQ8 IVF16384,PQ32   # compressed, at 10^7
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from common import untrained_model

from radsearch.datasets.synthetic import render, write_dicom
from radsearch.imaging import preprocess, read
from radsearch.storage.vectors import FaissIndex, faiss_backend

QUERIES = 200
K = 10
PHRASES = ["left pleural effusion", "cardiomegaly without effusion", "right apical pneumothorax",
           "no acute cardiopulmonary abnormality", "nodule in the right upper zone"]


CHUNKED_ABOVE = 2_000_000  # larger sets are drawn in float32 chunks: 10^7 x 128 in float64 alone is 10 GB


def clustered(n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    centres = rng.standard_normal((max(10, n // 1000), dim)).astype(np.float32)
    if n <= CHUNKED_ABOVE:  # the stream the figures up to 10^6 in docs/benchmarks.md were drawn from
        vectors = centres[rng.integers(0, len(centres), n)] + 0.35 * rng.standard_normal((n, dim)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 1_000_000):
        part = vectors[start:start + 1_000_000]
        part[:] = centres[rng.integers(0, len(centres), len(part))]
        part += 0.35 * rng.standard_normal(part.shape, dtype=np.float32)
        part /= np.linalg.norm(part, axis=1, keepdims=True)
    return vectors


def reranked(index: FaissIndex, vectors: np.ndarray, ids: np.ndarray, query: np.ndarray,
             allowed: np.ndarray | None = None) -> np.ndarray:
    """What the planner returns: an index whose codes are too coarse (`refine` > 1, PQ) gives refine x K
    candidates, ranked again by their full vectors (the catalog's embeddings; here the generated ones)."""
    found = index.search(query, K * index.refine, allowed=allowed)[1][0]
    if index.refine == 1:
        return found
    found = found[found >= 0]
    rows = np.searchsorted(ids, found)
    return found[np.argsort(-(vectors[rows] @ query), kind="stable")[:K]]


def brute(vectors: np.ndarray, ids: np.ndarray, query: np.ndarray) -> np.ndarray:
    scores = vectors @ query
    top = np.argpartition(-scores, K)[:K]
    return ids[top[np.argsort(-scores[top])]]


def timed(fn, queries: np.ndarray) -> tuple[list, np.ndarray]:  # noqa: ANN001
    results, seconds = [], []
    for query in queries:
        started = time.perf_counter()
        results.append(fn(query))
        seconds.append(time.perf_counter() - started)
    return results, np.array(seconds) * 1e3


def encoder_ms() -> tuple[np.ndarray, np.ndarray]:
    """Milliseconds to turn one query into a vector with the `tiny` preset: a text, and a 1024x1024
    DICOM file (read, preprocess, encode: what Library.search_image does before searching)."""
    model = untrained_model("tiny")
    profile = model.profile
    model.encode_text(PHRASES[:1])
    _, text = timed(lambda i: model.encode_text([PHRASES[int(i) % len(PHRASES)]]), np.arange(QUERIES))
    with tempfile.TemporaryDirectory() as folder:
        pixels = render(np.random.default_rng(0), "CHEST", "PA", size=(1024, 1024)).pixels
        path = write_dicom(pixels, Path(folder) / "query.dcm", {"PatientID": "Q"})
        _, image = timed(lambda _: model.encode_image(preprocess(read(path), profile)[None]), np.arange(QUERIES))
    return text, image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--spec", nargs="+", default=["auto"], help="FAISS factory strings instead of what auto picks")
    parser.add_argument("--hnsw-ef", type=int, help="efSearch for HNSW indexes (radsearch's default otherwise)")
    args = parser.parse_args()
    if args.hnsw_ef:
        faiss_backend.HNSW_EF_SEARCH = args.hnsw_ef
    rng = np.random.default_rng(0)
    text, image = encoder_ms()
    print(f"query to vector (tiny preset): text p50 {np.median(text):.2f} ms, p95 {np.percentile(text, 95):.2f} ms; "
          f"1024x1024 DICOM p50 {np.median(image):.2f} ms, p95 {np.percentile(image, 95):.2f} ms\n")
    print("| vectors | index | build s | query | p50 ms | p95 ms | brute p50 ms | speed-up | recall@10 |")
    print("|---:|---|---:|---|---:|---:|---:|---:|---:|")
    for n in args.sizes:
        if len(args.spec) == 1:
            run_size(n, args.dim, rng, {"text": text, "image": image}, args.spec[0])
            continue
        vectors = clustered(n, args.dim, rng)  # drawn once: every index type on the same vectors and queries
        for spec in args.spec:
            run_size(n, args.dim, np.random.default_rng(1), {"text": text, "image": image}, spec, vectors)


def run_size(n: int, dim: int, rng: np.random.Generator, encode: dict[str, np.ndarray], spec: str = "auto",
             vectors: np.ndarray | None = None) -> None:
    """One table block: build the index an auto library would use at n vectors, then time its queries."""
    vectors = clustered(n, dim, rng) if vectors is None else vectors
    ids = np.arange(1, n + 1, dtype=np.int64)
    spec = FaissIndex.choose_spec(spec, n, dim)
    started = time.perf_counter()
    index = FaissIndex.build(dim, spec, ids, vectors)
    build = time.perf_counter() - started
    picks = rng.choice(n, QUERIES, replace=False)
    queries = vectors[picks] + 0.05 * rng.standard_normal((QUERIES, dim)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    allowed = np.sort(rng.choice(ids, max(K, n // 100), replace=False))
    mask = np.isin(ids, allowed)
    cases = {
        "unfiltered": (lambda q: reranked(index, vectors, ids, q), lambda q: brute(vectors, ids, q)),
        "filtered 1%": (lambda q: reranked(index, vectors, ids, q, allowed),
                        lambda q: brute(vectors[mask], ids[mask], q)),
    }
    medians = {}
    for name, (ours, baseline) in cases.items():
        found, ms = timed(ours, queries)
        exact, base_ms = timed(baseline, queries)
        recall = np.mean([len(set(a.tolist()) & set(b.tolist())) / K for a, b in zip(found, exact)])
        medians[name] = (np.median(ms), np.median(base_ms))
        print(f"| {n:,} | {spec} | {build:.1f} | {name} | {np.median(ms):.2f} | {np.percentile(ms, 95):.2f} | "
              f"{np.median(base_ms):.2f} | {np.median(base_ms) / np.median(ms):.1f}x | {recall:.3f} |")
    for kind, seconds in encode.items():  # a query end to end: to a vector, then searched (p50s added)
        for name, (ours, base) in medians.items():
            first = np.median(seconds)
            print(f"| {n:,} | {spec} | | {kind} query, {name} (encode + search) | {first + ours:.2f} | | "
                  f"{first + base:.2f} | {(first + base) / (first + ours):.1f}x | |")


if __name__ == "__main__":
    main()
