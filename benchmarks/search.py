"""Query latency at 10^4, 10^5 and 10^6 vectors: radsearch's vector index against numpy brute force.

Synthetic clustered unit vectors stand in for a library's embeddings (the issue allows it for the
large sizes); the index type is what an "auto" library picks at that size (Flat below 10^5, then
IVF{nlist},Flat). For each size, 200 queries near library vectors are timed, k=10:
  unfiltered     VectorIndex.search
  filtered 1%    a selective metadata filter (1% of the ids), applied inside FAISS (id selector)
  brute force    numpy: one matrix-vector product and argpartition (the baseline), same filters
A text query adds the text encoder: the `tiny` preset's text tower is timed on real report phrases.
Recall@10 compares each radsearch result list with the exact one.

    python benchmarks/search.py [--sizes 10000 100000 1000000] [--dim 128]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from radsearch.imaging import PreprocessProfile
from radsearch.models import RadsearchModel, build_dual_encoder, load_preset, train_wordpiece
from radsearch.storage.vectors import VectorIndex, choose_spec

QUERIES = 200
K = 10
PHRASES = ["left pleural effusion", "cardiomegaly without effusion", "right apical pneumothorax",
           "no acute cardiopulmonary abnormality", "nodule in the right upper zone"]


def clustered(n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    centres = rng.standard_normal((max(10, n // 1000), dim)).astype(np.float32)
    vectors = centres[rng.integers(0, len(centres), n)] + 0.35 * rng.standard_normal((n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


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


def text_encoder_ms() -> np.ndarray:
    preset = load_preset("tiny")
    tokenizer = train_wordpiece(PHRASES * 4, preset.vocab_size)
    model = RadsearchModel(build_dual_encoder(preset, len(tokenizer)), tokenizer,
                           PreprocessProfile(size=preset.image_size))
    model.encode_text(PHRASES[:1])
    _, ms = timed(lambda i: model.encode_text([PHRASES[int(i) % len(PHRASES)]]), np.arange(QUERIES))
    return ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--dim", type=int, default=128)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    encode = text_encoder_ms()
    print(f"text encoder (tiny preset), one query: p50 {np.median(encode):.2f} ms, "
          f"p95 {np.percentile(encode, 95):.2f} ms\n")
    print("| vectors | index | build s | query | p50 ms | p95 ms | brute p50 ms | speed-up | recall@10 |")
    print("|---:|---|---:|---|---:|---:|---:|---:|---:|")
    for n in args.sizes:
        run_size(n, args.dim, rng, encode)


def run_size(n: int, dim: int, rng: np.random.Generator, encode: np.ndarray) -> None:
    """One table block: build the index an auto library would use at n vectors, then time its queries."""
    vectors = clustered(n, dim, rng)
    ids = np.arange(1, n + 1, dtype=np.int64)
    spec = choose_spec("auto", n)
    started = time.perf_counter()
    index = VectorIndex.build(dim, spec, ids, vectors)
    build = time.perf_counter() - started
    picks = rng.choice(n, QUERIES, replace=False)
    queries = vectors[picks] + 0.05 * rng.standard_normal((QUERIES, dim)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    allowed = np.sort(rng.choice(ids, max(K, n // 100), replace=False))
    mask = np.isin(ids, allowed)
    cases = {
        "unfiltered": (lambda q: index.search(q, K)[1][0], lambda q: brute(vectors, ids, q)),
        "filtered 1%": (lambda q: index.search(q, K, allowed=allowed)[1][0],
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
    ours, base = medians["unfiltered"]
    print(f"| {n:,} | {spec} | | text query (encode + search) | {np.median(encode) + ours:.2f} | | "
          f"{np.median(encode) + base:.2f} | {(np.median(encode) + base) / (np.median(encode) + ours):.1f}x | |")


if __name__ == "__main__":
    main()
