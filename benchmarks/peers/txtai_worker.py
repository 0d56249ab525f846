"""Runs inside a separate environment with txtai installed (never radsearch's): builds a txtai embeddings
database from the vectors and metadata benchmarks/txtai_peer.py wrote, then times its filtered searches.

    python txtai_worker.py DATA.npz WORKDIR THREADS

Vectors enter through txtai's "external" transform (document text "d<n>" is row n's vector, query text
"q<n>" is query n's), content is stored (txtai's SQLite database) so that SQL filters apply, and FAISS is
txtai's default for this size (IVF with 4·sqrt(n) cells, nprobe = cells/16). Prints one JSON line.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import faiss
import numpy as np
from txtai import Embeddings

CANDIDATES = (None, 1_000, 10_000)  # None: txtai's default (the limit, or 10x it when the filter has several terms)


def main() -> None:
    data_path, workdir, threads = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    faiss.omp_set_num_threads(threads)
    data = np.load(data_path, allow_pickle=False)
    vectors, queries = data["vectors"], data["queries"]
    k = int(data["k"])

    def transform(texts: list[str]) -> np.ndarray:
        rows = [queries[int(t[1:])] if t[0] == "q" else vectors[int(t[1:])] for t in texts]
        return np.stack(rows).astype(np.float32)

    config = {"method": "external", "transform": transform, "content": True, "backend": "faiss"}
    saved = workdir / "txtai-index"
    embeddings = Embeddings(config)
    built_s = None
    if (saved / "config.json").is_file():
        embeddings.load(str(saved), config={"transform": transform})
    else:
        columns = {name: data[f"col_{name}"] for name in json.loads(str(data["column_names"]))}
        labels = data["labels"]

        def documents():  # noqa: ANN202 - a generator
            for n in range(len(vectors)):
                row = {"text": f"d{n}", "labels": labels[n]}
                for name, values in columns.items():
                    value = values[n]
                    row[name] = float(value) if values.dtype.kind == "f" else str(value)
                yield n + 1, row, None

        started = time.perf_counter()
        embeddings.index(documents())
        embeddings.save(str(saved))
        built_s = time.perf_counter() - started
    columns = json.loads(str(data["column_names"]))
    results = {"built_s": built_s, "ntotal": embeddings.count(), "rows": []}
    for name, clause in json.loads(str(data["filters"])).items():
        for candidates in CANDIDATES if clause else (None,):
            similar = "similar(:q)" if candidates is None else f"similar(:q, {candidates})"
            sql = (f"select id, score, labels, {', '.join(columns)} from txtai where {similar}"  # what a hit shows
                   + (f" and {clause}" if clause else ""))
            embeddings.search(sql, limit=k, parameters={"q": "q0"})  # warm
            ms, found = [], []
            for n in range(len(queries)):
                started = time.perf_counter()
                hits = embeddings.search(sql, limit=k, parameters={"q": f"q{n}"})
                ms.append((time.perf_counter() - started) * 1e3)
                found.append([int(h["id"]) for h in hits])
            results["rows"].append({"filter": name, "candidates": candidates, "ms": ms, "found": found})
    results["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(results))


if __name__ == "__main__":
    main()
