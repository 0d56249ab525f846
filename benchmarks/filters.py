"""Filtered search: post-filtering an over-fetched search against the FAISS id selector, by share.

A library of N synthetic images (catalog rows and clustered 128-d vectors, inserted directly) gets
filters that keep a chosen share of it (`institution` any-of lists). For each share, the same
queries run through `Library.search_vector` with each strategy forced, k=10:
  over-fetch   search k / share x 2 neighbours unfiltered, keep those the filter's SQL matches
  id selector  fetch every matching id from SQL, search inside FAISS with an IDSelectorBatch
Both return the exact filtered ranking (tests/search/test_library.py); this measures which is faster,
to place radsearch's switch (search.planner.OVERFETCH_SHARE).

    python benchmarks/filters.py [--n 200000] [--queries 50]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from common import untrained_model
from sqlalchemy import insert

from radsearch.config import LibraryConfig
from radsearch.library import Library
from radsearch.search import planner as planner_module
from radsearch.storage import LibraryStore
from radsearch.storage.schema import Image, Series, Study

SHARES = (0.005, 0.02, 0.05, 0.1, 0.2, 0.4, 0.8)
BUCKETS = 1000  # institution values; a filter on m of them keeps m / BUCKETS of the library


def build(root: Path, n: int, rng: np.random.Generator) -> Library:
    model = untrained_model("tiny")
    model.save_pretrained(root / "model")
    store = LibraryStore.create(root, LibraryConfig(model_id=model.model_id, embed_dim=model.embed_dim,
                                                    profile=model.profile.to_dict()))
    centres = rng.standard_normal((n // 1000, model.embed_dim)).astype(np.float32)
    vectors = centres[rng.integers(0, len(centres), n)] + 0.35 * rng.standard_normal((n, model.embed_dim))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    with store.catalog.session() as s:
        s.execute(insert(Study), [{"id": 1, "study_key": "S"}])
        s.execute(insert(Series), [{"id": 1, "study_id": 1, "series_key": "S/series"}])
        for start in range(0, n, 20_000):
            s.execute(insert(Image), [
                {"id": i + 1, "study_id": 1, "series_id": 1, "path": f"/x/{i}.dcm", "content_hash": f"{i:064d}",
                 "frame": 0, "width": 1, "height": 1, "profile_hash": model.profile.hash,
                 "institution": f"I{rng.integers(BUCKETS):03d}", "embedding": vectors[i].tobytes()}
                for i in range(start, min(n, start + 20_000))])
    store.rebuild_vectors()
    return Library(LibraryStore.open(root))


def timed(lib: Library, queries: np.ndarray, where: dict, share_switch: float) -> tuple[float, list]:
    planner_module.OVERFETCH_SHARE = share_switch
    planner_module.OVERFETCH_MAX = 0 if share_switch > 1 else 10**9  # the inverted-file rule forced the same way
    results, seconds = [], []
    for query in queries:
        started = time.perf_counter()
        results.append([h.id for h in lib.search.vector(query, 10, where=where)])
        seconds.append(time.perf_counter() - started)
    return float(np.median(seconds) * 1e3), results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        lib = build(Path(folder) / "lib", args.n, rng)
        print(f"{args.n:,} images, index {lib.store.index_spec('images')}, built in "
              f"{time.perf_counter() - started:.0f} s\n")
        _, stored = lib.store.catalog.embeddings("images", rng.choice(args.n, args.queries).tolist() + [1],
                                                 lib.store.config.embed_dim)
        queries = stored[:args.queries]
        print("| share kept | over-fetch p50 ms | id selector p50 ms | faster | same results |")
        print("|---:|---:|---:|---|---|")
        for share in SHARES:
            where = {"institution": [f"I{b:03d}" for b in range(round(share * BUCKETS))]}
            over, a = timed(lib, queries, where, 0.0)
            selector, b = timed(lib, queries, where, 2.0)
            print(f"| {share:.1%} | {over:.1f} | {selector:.1f} | "
                  f"{'over-fetch' if over < selector else 'id selector'} | {a == b} |")


if __name__ == "__main__":
    main()
