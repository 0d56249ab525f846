"""Inference precision against fp32 in the same run: retrieval quality, vector agreement and encoding speed.

For each MODEL and MANIFEST pair, every image of the manifest is the gallery and its test split the queries
(as `radsearch eval` takes them: own patient excluded, relevance by label overlap). The model embeds gallery
and queries at fp32, then bf16 autocast, then int8 linear layers (models.runtime), each loaded afresh:
image and text precision@k, mAP@k, the change against fp32, the lowest cosine between a precision's
vectors and fp32's, and images/s encoding a fixed sample of the gallery on all cores.

The rule (issue 24): a precision becomes the default only if image and text precision@k move by at most
0.005 against fp32 on every pair.

    python benchmarks/precision.py --pair demo LIB/model MANIFEST [--pair real-dev MODEL_DIR MANIFEST] [-k 10]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from radsearch.datasets import read_manifest
from radsearch.evaluation.holdout import decode_records, evaluate_holdout
from radsearch.models import embed_radiographs, load_encoder, set_precision
from radsearch.models.runtime import native_bf16

RULE = 0.005
MEASURED = ("fp32", "bf16", "int8")  # "auto" is bf16 or fp32, by the hardware
SPEED_SAMPLE = 256  # gallery images timed at each precision
ROWS = ("image_precision_at_k", "text_precision_at_k", "image_map_at_k")


def measure(name: str, model_dir: Path, manifest: Path, k: int) -> list[dict]:
    rows = read_manifest(manifest)
    kept, images = decode_records(rows, progress=False)
    decoded = {r.path: image for r, image in zip(kept, images)}
    queries = [r for r in kept if r.split == "test"] or kept
    sample = images[:SPEED_SAMPLE]
    print(f"{name}: {len(kept)} gallery images, {len(queries)} queries, {torch.get_num_threads()} threads", flush=True)
    results, reference = [], None
    for precision in MEASURED:
        model = set_precision(load_encoder(model_dir), precision)
        embed_radiographs(model, sample[:8])  # warm-up: first call allocates
        started = time.perf_counter()
        vectors = embed_radiographs(model, sample)
        rate = len(sample) / (time.perf_counter() - started)
        reference = vectors if reference is None else reference
        report = evaluate_holdout(model, rows, queries, baselines=(), k=k, decoded=decoded)
        figures = {row: getattr(report.model, row) for row in ROWS}
        results.append({"set": name, "precision": precision, "images_per_s": rate,
                        "min_cosine": float(np.min(np.sum(vectors * reference, axis=1))), **figures})
        print(f"  {precision}: " + ", ".join(f"{key} {value:.4f}" for key, value in figures.items()
                                             if value is not None) + f", {rate:.1f} images/s", flush=True)
    return results


def verdict(results: list[dict]) -> dict[str, bool]:
    """Per precision: whether every pair's precision@k stayed within RULE of fp32."""
    ok = {}
    for row in results:
        base = next(r for r in results if r["set"] == row["set"] and r["precision"] == "fp32")
        within = all(row[key] is None or abs(row[key] - base[key]) <= RULE
                     for key in ("image_precision_at_k", "text_precision_at_k"))
        ok[row["precision"]] = ok.get(row["precision"], True) and within
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pair", nargs=3, action="append", required=True, metavar=("NAME", "MODEL_DIR", "MANIFEST"))
    parser.add_argument("-k", type=int, default=10)
    args = parser.parse_args()
    results = [row for name, model, manifest in args.pair for row in measure(name, Path(model), Path(manifest), args.k)]
    fmt = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
    print(f"\n| set | precision | image P@{args.k} | change | text P@{args.k} | change | mAP@{args.k} | lowest cosine "
          "to fp32 | images/s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in results:
        base = next(r for r in results if r["set"] == row["set"] and r["precision"] == "fp32")
        change = {key: "" if row[key] is None else f"{row[key] - base[key]:+.3f}"
                  for key in ("image_precision_at_k", "text_precision_at_k")}
        print(f"| {row['set']} | {row['precision']} | {fmt(row['image_precision_at_k'])} | "
              f"{change['image_precision_at_k']} | {fmt(row['text_precision_at_k'])} | {change['text_precision_at_k']} "
              f"| {fmt(row['image_map_at_k'])} | {row['min_cosine']:.4f} | {row['images_per_s']:.1f} |")
    print(f"this machine computes bf16 natively: {native_bf16()} (so 'auto' means "
          f"{'bf16' if native_bf16() else 'fp32'} here)")
    for precision, ok in verdict(results).items():
        if precision != "fp32":
            print(f"{precision}: {'within' if ok else 'OUTSIDE'} the rule (precision@{args.k} within {RULE} of fp32 "
                  "on every set)")


if __name__ == "__main__":
    main()
