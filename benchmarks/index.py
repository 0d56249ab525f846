"""Indexing throughput end to end: radsearch's pipeline against a naive loop, in the same run.

Archive: FILES synthetic radiographs as DICOM at SIZE x SIZE, 12-bit, half uncompressed and half
JPEG-LS lossless (as PACS exports mix them), each with its own noise so no two files are equal.
Model: a preset's encoders with untrained weights (throughput does not depend on the weights).

  naive      one process, one image at a time: read -> preprocess -> embed -> add to a FAISS flat index.
             No hashing, no catalog, no previews: it does less work than radsearch. Run twice: reading
             as a first script would (pydicom's default decoders and its LUT functions: the baseline),
             and with radsearch's reader, to separate the reader's share from the pipeline's.
  radsearch  indexer.index end to end (scan, hash, decode, batch embed, catalog rows, FAISS, previews),
             decoding in the main process (workers=0) and on decode worker processes (the default).

  stages     each stage alone on all cores, in the same run: decode-only (the indexer's decode workers,
             one per core, decoding, preprocessing and drawing previews, results dropped) and encode-only
             (the decoded encoder inputs embedded in the indexer's batches, torch on every core, at the
             precision a new library uses). The end-to-end indexer is compared with the slower of the two
             (the goal: at least 90% of it) and with the harmonic bound 1 / (1/decode + 1/encode), which is
             what two stages sharing the same cores can reach at best.

Prints images/s, the ratio to the naive loop, and where the time went (decode vs embed vs write).

    python benchmarks/index.py [--files 2000] [--size 1024] [--preset tiny] [--workdir DIR] [--skip-naive]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np
import pydicom
from common import untrained_model
from PIL import Image
from pydicom.pixels import apply_modality_lut, apply_voi_lut
from pydicom.uid import JPEGLSLossless, generate_uid
from tqdm import tqdm

from radsearch import index
from radsearch.datasets.synthetic import render, write_dicom
from radsearch.imaging import Radiograph, preprocess, read
from radsearch.indexer.scan import scan
from radsearch.indexer.workers import decoded, default_workers
from radsearch.models import RadsearchModel, encode_images, set_precision
from radsearch.models.runtime import resolve_precision

POOL = 40  # distinct renders; every file adds its own noise on top


def make_archive(folder: Path, files: int, size: int, seed: int = 0) -> None:
    """FILES DICOMs in PATIENT/STUDY folders; reused when the folder already holds them."""
    if folder.is_dir() and len(list(folder.rglob("*.dcm"))) >= files:
        return
    shutil.rmtree(folder, ignore_errors=True)
    rng = np.random.default_rng(seed)
    parts = [("CHEST", "PA"), ("CHEST", "LAT"), ("HAND", "PA"), ("KNEE", "AP"), ("PELVIS", "AP")]
    pool = []
    for n in range(POOL):
        body_part, view = parts[n % len(parts)]
        small = render(rng, body_part, view, size=(512, 512)).pixels
        big = np.asarray(Image.fromarray(small).resize((size, size), Image.Resampling.BILINEAR))
        pool.append((body_part, view, big))
    for n in tqdm(range(files), desc="archive", unit="file"):
        body_part, view, pixels = pool[n % POOL]
        noisy = np.clip(pixels + rng.normal(0, 0.01, pixels.shape).astype(np.float32), 0, 1)
        study = f"P{n // 4:05d}"
        path = folder / study / f"{n:05d}.dcm"
        path.parent.mkdir(parents=True, exist_ok=True)
        tags = {"PatientID": study, "StudyInstanceUID": generate_uid(entropy_srcs=[study]), "Modality": "CR",
                "SeriesInstanceUID": generate_uid(entropy_srcs=[study, str(n)]),
                "SOPInstanceUID": generate_uid(entropy_srcs=[str(n)]), "BodyPartExamined": body_part,
                "ViewPosition": view, "StudyDate": "20240101"}
        write_dicom(noisy, path, tags, bits_stored=12)
        if n % 2:
            ds = pydicom.dcmread(path)
            ds.compress(JPEGLSLossless)
            ds.save_as(path)


def make_model(folder: Path, preset_name: str) -> Path:
    return untrained_model(preset_name).save_pretrained(folder)


def pydicom_read(path: Path) -> Radiograph:
    """What a first script does to show a radiograph correctly: pydicom's defaults, its LUT functions."""
    ds = pydicom.dcmread(path)
    values = apply_voi_lut(apply_modality_lut(ds.pixel_array, ds), ds).astype(np.float32)
    values = (values - values.min()) / max(float(values.max() - values.min()), 1e-6)
    if ds.PhotometricInterpretation == "MONOCHROME1":
        values = 1.0 - values
    return Radiograph(values)


def naive(archive: Path, model_dir: Path, reader) -> dict:  # noqa: ANN001
    """Read, embed one image at a time, add: what a first script does."""
    model = RadsearchModel.from_pretrained(model_dir)
    flat = faiss.IndexIDMap2(faiss.IndexFlatIP(model.embed_dim))
    decode = embed = 0.0
    started = time.perf_counter()
    for n, path in enumerate(tqdm(sorted(archive.rglob("*.dcm")), desc="naive", unit="img")):
        t0 = time.perf_counter()
        pixels = preprocess(reader(path), model.profile)
        t1 = time.perf_counter()
        vector = model.encode_image(pixels[None])
        t2 = time.perf_counter()
        flat.add_with_ids(vector, np.array([n], dtype=np.int64))
        decode, embed = decode + t1 - t0, embed + t2 - t1
    return {"images": flat.ntotal, "seconds": time.perf_counter() - started, "decode": decode, "embed": embed,
            "write": 0.0}


def stages(archive: Path, model_dir: Path) -> dict:
    """Decode-only and encode-only throughput, each stage alone on every core."""
    model = set_precision(RadsearchModel.from_pretrained(model_dir), "auto")  # as a new library embeds
    items = scan(archive).items
    started = time.perf_counter()
    inputs = [frame.pixels for _, result, _ in tqdm(decoded(items, model.profile, 192, default_workers()),
                                                   total=len(items), desc="decode only", unit="img")
              for frame in result]
    decode_rate = len(inputs) / (time.perf_counter() - started)
    encode_images(model, inputs[:64])  # warm-up
    started = time.perf_counter()
    encode_images(model, inputs, 32)  # the indexer's default --batch-size
    encode_rate = len(inputs) / (time.perf_counter() - started)
    return {"decode": decode_rate, "encode": encode_rate}


def radsearch(archive: Path, model_dir: Path, library: Path, workers: int | None) -> dict:
    shutil.rmtree(library, ignore_errors=True)
    started = time.perf_counter()
    summary = index(archive, library, model_dir, workers=workers)
    seconds = time.perf_counter() - started
    print(f"    {summary}")
    return {"images": summary.added, "seconds": seconds, "decode": summary.decode_seconds,
            "embed": summary.embed_seconds, "write": summary.write_seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--workdir", type=Path, help="keep the archive here between runs")
    parser.add_argument("--skip-naive", action="store_true", help="only the stages and radsearch's indexer")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="radsearch-index-bench-"))
    archive = workdir / f"archive-{args.files}-{args.size}"
    make_archive(archive, args.files, args.size)
    model_dir = make_model(workdir / f"model-{args.preset}", args.preset)
    runs = {} if args.skip_naive else {
        "naive, pydicom defaults (1 process, 1 image at a time)": naive(archive, model_dir, pydicom_read),
        "naive, radsearch's reader (1 process, 1 image at a time)": naive(archive, model_dir, read),
        "radsearch, decode in the main process": radsearch(archive, model_dir, workdir / "lib0", 0)}
    alone = stages(archive, model_dir)
    end_to_end = f"radsearch, {default_workers()} decode worker processes"
    runs[end_to_end] = radsearch(archive, model_dir, workdir / "libN", None)
    base = next(iter(runs.values()))
    base_rate = base["images"] / base["seconds"]
    print(f"\n{args.files} DICOM files, {args.size}x{args.size}, half JPEG-LS; preset {args.preset}; "
          f"{default_workers()} default workers; radsearch embeds at {resolve_precision('auto')} (precision auto), "
          "the naive loops at fp32\n")
    print("| run | images | seconds | images/s | vs naive | decode s | embed s | write s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, run in runs.items():
        rate = run["images"] / run["seconds"]
        print(f"| {name} | {run['images']} | {run['seconds']:.1f} | {rate:.1f} | {rate / base_rate:.2f}x | "
              f"{run['decode']:.1f} | {run['embed']:.1f} | {run['write']:.1f} |")
    print("\ndecode s: CPU time decoding, summed over processes (it overlaps embedding when workers > 0)")
    rate = runs[end_to_end]["images"] / runs[end_to_end]["seconds"]
    slower = min(alone.values())
    bound = 1 / (1 / alone["decode"] + 1 / alone["encode"])
    print(f"\n| stage, all cores | images/s |\n|---|---:|\n| decode only | {alone['decode']:.1f} |\n"
          f"| encode only | {alone['encode']:.1f} |\n| harmonic bound (both on the same cores) | {bound:.1f} |\n"
          f"| end-to-end indexer | {rate:.1f} |")
    print(f"end to end: {rate / slower:.0%} of the slower stage (goal 90%), {rate / bound:.0%} of the harmonic bound")


if __name__ == "__main__":
    main()
