"""A peer beside radsearch: txtai, an embeddings database that also pairs a FAISS index with SQL filters, on the
same 10^6 vectors, metadata and queries as benchmarks/library_scale.py.

txtai runs in its own environment (it must never be a radsearch dependency): make one with
    python3.11 -m venv /tmp/txtai-env && /tmp/txtai-env/bin/pip install torch==2.13.0 txtai faiss-cpu
and pass its interpreter. radsearch's side is the library library_scale.py built (the same generator, so
the same vectors and columns in the same order), searched through `Library.search.vector`; txtai's is built
by benchmarks/peers/txtai_worker.py from those arrays (kept in WORKDIR for another run). Both are asked the
same 100 vector queries (a stored vector plus noise), k=10, unfiltered and under each of library_scale's
filters; recall@10 is against exact numpy search under the filter, from the generated columns. txtai
filters after its index search, over `similar(query, candidates)`; it is run with its default candidates
and with 1,000 and 10,000.

    python benchmarks/txtai_peer.py --library /tmp/lib1m --txtai-python /tmp/txtai-env/bin/python --workdir /tmp/peer
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from library_scale import FILTERS, FINDINGS, K, exact_top, generate, mask_of

from radsearch import open_library

COLUMNS = ("body_part", "view", "modality", "sex", "age", "study_date", "institution")


def sql_clause(where: dict | None) -> str:
    """The same filter in txtai's SQL (its content columns; labels kept as '|a|b|' text)."""
    if not where:
        return ""
    parts = []
    for column, spec in where.items():
        if column == "labels":
            parts.append(f"labels like '%|{spec}|%'")
        elif isinstance(spec, dict):
            quote = (lambda v: f"'{v}'") if column == "study_date" else str
            parts += ([f"{column} >= {quote(spec['min'])}"] if "min" in spec else []) + \
                     ([f"{column} <= {quote(spec['max'])}"] if "max" in spec else [])
        else:
            parts.append(f"{column} = '{spec}'")
    return " and ".join(parts)


def p50(ms: list[float]) -> float:
    return float(np.percentile(np.array(ms), 50))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--library", type=Path, required=True, help="built by benchmarks/library_scale.py")
    parser.add_argument("--txtai-python", required=True, help="the interpreter of an environment with txtai")
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    os.environ["RADSEARCH_THREADS"] = str(args.threads)
    args.workdir.mkdir(parents=True, exist_ok=True)
    data = generate(args.n, 128)
    rng = np.random.default_rng(7)
    picks = rng.choice(args.n, args.queries, replace=False)
    near = data["vectors"][picks] + 0.05 * rng.standard_normal((args.queries, 128)).astype(np.float32)
    near /= np.linalg.norm(near, axis=1, keepdims=True)
    cases = {"none": None, **FILTERS}
    exact = {name: [exact_top(data, v, mask_of(data, where) if where else None, set()) for v in near]
             for name, where in cases.items()}

    labels = np.array(["|" + "|".join(np.array(list(FINDINGS))[row]) + "|" for row in data["labels"]])
    arrays = {f"col_{c}": data[c] for c in COLUMNS}
    np.savez(args.workdir / "data.npz", vectors=data["vectors"], queries=near, k=K, labels=labels,
             column_names=json.dumps(COLUMNS), filters=json.dumps({n: sql_clause(w) for n, w in cases.items()}),
             **arrays)
    started = time.perf_counter()
    worker = Path(__file__).parent / "peers" / "txtai_worker.py"
    run = subprocess.run([args.txtai_python, str(worker), str(args.workdir / "data.npz"), str(args.workdir),
                          str(args.threads)], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""})
    if run.returncode:
        raise SystemExit(f"the txtai worker failed:\n{run.stderr[-3000:]}")
    peer = json.loads(run.stdout.strip().splitlines()[-1])
    peer_wall = time.perf_counter() - started

    lib = open_library(args.library)
    ours = {}
    for name, where in cases.items():
        call = lambda q, w=where: lib.search.vector(q, K, where=w)  # noqa: E731
        call(near[0])
        ms, found = [], []
        for q in near:
            t = time.perf_counter()
            found.append({h.id for h in call(q)})
            ms.append((time.perf_counter() - t) * 1e3)
        ours[name] = (p50(ms), np.mean([len(f & e) / K for f, e in zip(found, exact[name])]))

    built = "reused from an earlier run" if peer["built_s"] is None else f"built in {peer['built_s']:.0f} s"
    print(f"\n{args.n:,} vectors, {args.queries} queries, k={K}, {args.threads} threads. txtai {built} "
          f"(worker {peer_wall:.0f} s, resident {peer['rss_mb']:.0f} MB, {peer['ntotal']:,} vectors)\n")
    print("| filter | radsearch p50 ms | recall@10 | txtai p50 ms (default candidates) | recall@10 | "
          "txtai p50 (1,000) | recall@10 | txtai p50 (10,000) | recall@10 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in cases:
        cells = [f"{ours[name][0]:.1f}", f"{ours[name][1]:.3f}"]
        for row in [r for r in peer["rows"] if r["filter"] == name]:
            recall = np.mean([len(set(f) & e) / K for f, e in zip(row["found"], exact[name])])
            cells += [f"{p50(row['ms']):.1f}", f"{recall:.3f}"]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
