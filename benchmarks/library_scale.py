"""Whole-library latency at 10^6 images: what a radiologist or an API client feels, not the vector search alone.

A library of N images is built without the encoder: catalog rows with realistic metadata distributions
(body parts, views, sexes, ages, dates, sites, vendors, labels at clinical prevalences), one report for a
share of the studies with its sentences, and clustered 128-d vectors whose clusters follow the body part,
loaded through radsearch's storage layer (`storage.bulk.bulk_load`: the same `write_batch` transactions as
the indexer, thumbnails, then the indexes an "auto" library builds). The model is the `tiny` preset with
random weights, so queries pay a real encoder.

Timed through the public API (`Library.search`, audited as every search is), k=10:
  vector    a stored image's vector plus noise (search_vector), unfiltered and under each filter
  text      a free-text query (search_text): encode + search + hits, unfiltered and under each filter
  image     a 1024x1024 DICOM file (search_image): read, preprocess, encode, own-patient lookup, search
  study     text grouped by study; reports: text -> report search; sentences: text -> sentence search
p50/p95/p99 in ms, and recall@10 of image results against exact (numpy) search under the same filter,
computed from the generated metadata, not from SQL. A fresh process times opening the library and its
first text query; resident memory is read after it.

    python benchmarks/library_scale.py [--n 1000000] [--database sqlite|URL] [--library DIR] [--queries 100]

--library keeps the built library for another run (it is reused when it exists).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import untrained_model
from PIL import Image as PILImage
from tqdm import tqdm

from radsearch import open_library
from radsearch.config import LibraryConfig
from radsearch.datasets.synthetic import render, write_dicom
from radsearch.storage import LibraryStore
from radsearch.storage.bulk import BulkBatch, bulk_load
from radsearch.storage.database import prepare_database
from radsearch.storage.integrity import check_library
from radsearch.storage.rows import NewImage, NewReport, NewSentence

K = 10
BATCH = 20_000
IMAGES_PER_STUDY = 2.5
STUDIES_PER_PATIENT = 3
REPORTED_SHARE = 0.6  # studies with a report
SENTENCES = 5  # per report
BODY_PARTS = {"CHEST": 0.55, "KNEE": 0.08, "HAND": 0.07, "SPINE": 0.06, "PELVIS": 0.06, "SHOULDER": 0.05,
              "FOOT": 0.05, "ABDOMEN": 0.04, "SKULL": 0.02, "ELBOW": 0.02}
VIEWS = {"PA": 0.4, "AP": 0.25, "LAT": 0.25, "OBL": 0.1}
MODALITIES = {"DX": 0.6, "CR": 0.4}
SITES = 40  # institutions, Zipf-like shares
VENDORS = {"Siemens": 0.3, "Philips": 0.25, "GE": 0.2, "Agfa": 0.1, "Carestream": 0.1, "Fujifilm": 0.05}
FINDINGS = {"effusion": 0.08, "cardiomegaly": 0.06, "atelectasis": 0.06, "nodule": 0.04, "fracture": 0.05,
            "pneumonia": 0.03, "pneumothorax": 0.01, "hardware": 0.03, "edema": 0.02, "mass": 0.01}
WORDS = ["left", "right", "bilateral", "small", "large", "new", "stable", "mild", "no", "basal", "apical", "upper"]
FILTERS = {  # name: (where, how the share is computed from the generated columns)
    "modality DX (one column)": {"modality": "DX"},
    "view LAT (one column)": {"view": "LAT"},
    "body part HAND (one column)": {"body_part": "HAND"},
    "site 07 (one column)": {"institution": "SITE-07"},
    "chest, female, age 40-70 (three columns)": {"body_part": "CHEST", "sex": "F", "age": {"min": 40, "max": 70}},
    "study date 2024 Q1-Q3 (range)": {"study_date": {"min": "2024-01-01", "max": "2024-09-30"}},
    "age 90+ (range)": {"age": {"min": 90}},
    "label pneumothorax": {"labels": "pneumothorax"},
}


def choice(rng: np.random.Generator, table: dict[str, float], n: int) -> np.ndarray:
    names = np.array(list(table))
    weights = np.array(list(table.values()))
    return names[rng.choice(len(names), n, p=weights / weights.sum())]


def generate(n: int, dim: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Every image's columns, labels and vector, as arrays (the ground truth recall is measured against)."""
    rng = np.random.default_rng(seed)
    studies = np.sort(rng.integers(0, int(n / IMAGES_PER_STUDY), n))
    patient_of_study = rng.integers(0, max(1, int(n / IMAGES_PER_STUDY / STUDIES_PER_PATIENT)), studies.max() + 1)
    body = choice(rng, BODY_PARTS, studies.max() + 1)[studies]  # one body part per study
    sites = 1.0 / np.arange(1, SITES + 1)
    site_of_study = rng.choice(SITES, studies.max() + 1, p=sites / sites.sum())
    days = rng.integers(0, 15 * 365, studies.max() + 1)
    dates = (np.datetime64("2010-01-01") + days).astype(str)
    columns = {
        "study": studies, "patient": patient_of_study[studies], "body_part": body,
        "view": choice(rng, VIEWS, n), "modality": choice(rng, MODALITIES, n),
        "sex": np.where(rng.random(studies.max() + 1) < 0.5, "F", "M")[patient_of_study][studies],
        "age": np.clip(rng.normal(55, 18, studies.max() + 1), 0, 100).round()[studies],
        "study_date": dates[studies], "institution": np.array([f"SITE-{s + 1:02d}" for s in site_of_study])[studies],
        "manufacturer": choice(rng, VENDORS, n), "kvp": rng.integers(55, 126, n).astype(float),
        "split": choice(rng, {"train": 0.8, "val": 0.1, "test": 0.1}, n),
    }
    columns["labels"] = np.stack([rng.random(n) < p for p in FINDINGS.values()], axis=1)
    parts = list(BODY_PARTS)
    centres_per_part = max(2, n // 1000 // len(parts))
    centres = rng.standard_normal((len(parts), centres_per_part, dim)).astype(np.float32)
    part_index = np.array([parts.index(b) for b in body])
    which = centres[part_index, rng.integers(0, centres_per_part, n)]
    vectors = which + 0.35 * rng.standard_normal((n, dim)).astype(np.float32)
    columns["vectors"] = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    columns["reported"] = rng.random(studies.max() + 1) < REPORTED_SHARE
    return columns


def mask_of(data: dict[str, np.ndarray], where: dict) -> np.ndarray:
    """Which images a filter keeps, from the generated columns (independent of radsearch's SQL)."""
    keep = np.ones(len(data["study"]), bool)
    for column, spec in where.items():
        if column == "labels":
            keep &= data["labels"][:, list(FINDINGS).index(spec)]
        elif isinstance(spec, dict):
            values = data[column]
            if "min" in spec:
                keep &= values >= (spec["min"] if column != "study_date" else np.str_(spec["min"]))
            if "max" in spec:
                keep &= values <= (spec["max"] if column != "study_date" else np.str_(spec["max"]))
        else:
            keep &= data[column] == spec
    return keep


def png(size: int = 8) -> bytes:
    out = io.BytesIO()
    PILImage.fromarray(np.full((size, size), 128, np.uint8)).save(out, format="PNG")
    return out.getvalue()


def batches(data: dict[str, np.ndarray], profile_hash: str, seed: int = 1,  # noqa: ANN201 - a generator
            files: list[str] | None = None):
    """BulkBatch after BulkBatch of the generated library; a study's report comes with its first image.
    With `files`, image i's path is files[i % len(files)] (real files, for benchmarks that open the originals);
    else a path that does not exist."""
    rng = np.random.default_rng(seed)
    thumb = png()
    n = len(data["study"])
    finding_names = np.array(list(FINDINGS))
    seen: set[int] = set()
    for start in range(0, n, BATCH):
        images, reports = [], []
        for i in range(start, min(n, start + BATCH)):
            study = int(data["study"][i])
            key = f"ST{study:08d}"
            labels = finding_names[data["labels"][i]].tolist()
            columns = {c: data[c][i].item() for c in ("body_part", "view", "modality", "sex", "age", "study_date",
                                                      "institution", "manufacturer", "kvp", "split")}
            columns["patient_id"] = f"PT{int(data['patient'][i]):08d}"
            path = files[i % len(files)] if files else f"/archive/{key}/{i}.dcm"
            images.append(NewImage(path=path, content_hash=f"{i:064x}", frame=0, file_size=None,
                                   file_mtime_ns=None, width=2048, height=2048, profile_hash=profile_hash,
                                   vector=data["vectors"][i], study_key=key, series_key=f"{key}/1", columns=columns,
                                   study={"study_date": columns["study_date"]}, labels=labels))
            if study not in seen and data["reported"][study]:
                seen.add(study)
                base = data["vectors"][i]
                said = labels or ["no acute abnormality"]
                vectors = base + 0.3 * rng.standard_normal((SENTENCES, len(base))).astype(np.float32)
                vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
                sentences = [NewSentence("findings", f"{rng.choice(WORDS)} {said[j % len(said)]}.", vectors[j])
                             for j in range(SENTENCES)]
                mean = vectors.mean(axis=0)
                reports.append(NewReport(study_key=key, text=" ".join(s.text for s in sentences),
                                         vector=mean / np.linalg.norm(mean), sentences=sentences))
        yield BulkBatch(images, [thumb] * len(images), reports)


def build(root: Path, n: int, database: str, files: list[str] | None = None) -> float:
    """A library of n generated images at root (their paths: see `batches`); seconds it took."""
    model = untrained_model("tiny")
    model.save_pretrained(root / "model")
    url = prepare_database(database) if database != "sqlite" else ""
    store = LibraryStore.create(root, LibraryConfig(model_id=model.model_id, embed_dim=model.embed_dim,
                                                    profile=model.profile.to_dict(), database_url=url))
    data = generate(n, model.embed_dim)
    started = time.perf_counter()
    with tqdm(total=n, desc="bulk load", unit="image", mininterval=10) as bar:
        bulk_load(store, batches(data, model.profile.hash, files=files), progress=bar.update)
    return time.perf_counter() - started


def percentiles(ms: list[float]) -> str:
    values = np.array(ms)
    return " | ".join(f"{np.percentile(values, p):.1f}" for p in (50, 95, 99))


def exact_top(data: dict[str, np.ndarray], query: np.ndarray, keep: np.ndarray | None, skip: set[int]) -> set[int]:
    """Catalog ids (generation order + 1) of the exact top K under a filter."""
    scores = data["vectors"] @ query
    if keep is not None:
        scores = np.where(keep, scores, -np.inf)
    for i in skip:
        scores[i - 1] = -np.inf
    top = np.argpartition(-scores, K)[:K]
    return {int(i) + 1 for i in top if np.isfinite(scores[i])}


def texts(count: int, rng: np.random.Generator) -> list[str]:
    return [f"{rng.choice(WORDS)} {rng.choice(list(FINDINGS))} {rng.choice(WORDS)}" for _ in range(count)]


def timed(call, arguments: list) -> tuple[list[float], list]:  # noqa: ANN001
    call(arguments[0])  # warm: the first call pays lazy loads, reported apart
    seconds, results = [], []
    for argument in arguments:
        started = time.perf_counter()
        results.append(call(argument))
        seconds.append((time.perf_counter() - started) * 1e3)
    return seconds, results


def first_query(root: Path) -> dict:
    """Run in a fresh process: open the library, answer one text query; times and resident memory."""
    started = time.perf_counter()
    lib = open_library(root)
    opened = time.perf_counter()
    lib.search("left pleural effusion", k=K)
    answered = time.perf_counter()
    return {"open_s": opened - started, "first_s": answered - started,
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def measure(root: Path, n: int, queries: int, database: str) -> None:
    rng = np.random.default_rng(7)
    data = generate(n, 128)
    fresh = subprocess.run([sys.executable, __file__, "--first-query", str(root)], capture_output=True, text=True,
                           check=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).parent)})
    cold = json.loads(fresh.stdout.strip().splitlines()[-1])
    lib = open_library(root)
    ends = lib.store.catalog.get([1, n], report=False, labels=False)
    if [ends[i].path.rsplit("/", 1)[1] for i in sorted(ends)] != ["0.dcm", f"{n - 1}.dcm"]:
        raise SystemExit(f"{root} is not the generated library of {n} images in order; build it again")
    print(f"\n{n:,} images on {'SQLite' if database == 'sqlite' else 'PostgreSQL'}: index "
          f"{lib.store.index_spec('images')}; {lib.store.catalog.count('reports'):,} reports, "
          f"{lib.store.catalog.count('sentences'):,} sentences. Fresh process: opened in {cold['open_s']:.2f} s, "
          f"first text query answered {cold['first_s']:.2f} s after start (goal < 2 s), resident memory "
          f"{cold['rss_mb']:.0f} MB\n")
    print("| query | filter | share | p50 ms | p95 ms | p99 ms | recall@10 |")
    print("|---|---|---:|---:|---:|---:|---:|")
    picks = rng.choice(n, queries, replace=False)
    near = data["vectors"][picks] + 0.05 * rng.standard_normal((queries, 128)).astype(np.float32)
    near /= np.linalg.norm(near, axis=1, keepdims=True)
    words = texts(queries, rng)
    # one at a time, as a search embeds its query: at bf16 a batch's padding moves a vector by about 1e-6, and
    # the random-weight encoder's random directions have near-ties that this reorders
    text_vectors = np.concatenate([lib.search.embed_texts([w]) for w in words])
    cases = {"none": None, **FILTERS}
    for label, where in cases.items():
        keep = mask_of(data, where) if where else None
        share = 1.0 if keep is None else float(keep.mean())
        for kind, inputs, vectors, call in (
                ("vector", list(near), near, lambda q, w=where: lib.search.vector(q, K, where=w)),
                ("text", words, text_vectors, lambda t, w=where: lib.search(t, K, where=w))):
            ms, found = timed(call, inputs)
            recall = np.mean([len({h.id for h in hits} & exact_top(data, v, keep, set())) / K
                              for hits, v in zip(found, vectors)])
            print(f"| {kind} | {label} | {share:.1%} | {percentiles(ms)} | {recall:.3f} |")
    with tempfile.TemporaryDirectory() as folder:
        pixels = render(np.random.default_rng(0), "CHEST", "PA", size=(1024, 1024)).pixels
        files = [write_dicom(pixels, Path(folder) / f"q{i}.dcm", {"PatientID": f"Q{i}"}) for i in range(20)]
        ms, _ = timed(lambda p: lib.search(str(p), K), files)
        print(f"| image (1024² DICOM) | none | 100% | {percentiles(ms)} | |")
    for kind, call in (("text by study", lambda t: lib.search(t, K, by="study")),
                       ("text -> reports", lambda t: lib.search(t, K, results="reports")),
                       ("text -> sentences", lambda t: lib.search(t, K, results="sentences"))):
        ms, _ = timed(call, words)
        print(f"| {kind} | none | 100% | {percentiles(ms)} | |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--database", default="sqlite", help="sqlite, or a PostgreSQL URL for the catalog")
    parser.add_argument("--library", type=Path, help="where to build (and keep) the library")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--check", action="store_true", help="run radsearch check on the built library")
    parser.add_argument("--build-only", action="store_true", help="build the library (--library) and stop")
    parser.add_argument("--first-query", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.first_query:
        print(json.dumps(first_query(args.first_query)))
        return
    with tempfile.TemporaryDirectory() as folder:
        root = args.library or Path(folder) / "lib"
        if not (root / "radsearch.toml").is_file():
            seconds = build(root, args.n, args.database)
            print(f"built {args.n:,} images in {seconds:.0f} s ({seconds / args.n * 1e3:.2f} ms per image)")
        if args.build_only:
            return
        if args.check:
            started = time.perf_counter()
            verdict = check_library(root)
            print(f"radsearch check: {'ok' if verdict.ok else verdict} ({time.perf_counter() - started:.0f} s)")
        measure(root, args.n, args.queries, args.database)


if __name__ == "__main__":
    main()
