"""The indexing pipeline: scan -> hash -> decode -> embed -> write, one committed batch at a time.

Each batch commits catalog rows and their embeddings in one transaction; the FAISS indexes are
derived from those rows (see storage.store.sync), so an interrupted run loses nothing and a
re-run adds nothing twice.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from sqlalchemy import select
from tqdm import tqdm

from ..config import LibraryConfig
from ..datasets import embedding_text
from ..errors import LibraryMismatch, ModelDirError, UnreadableImage
from ..imaging import Radiograph, preprocess, read, read_frames
from ..models import RadsearchModel
from ..privacy import Pseudonymizer
from ..storage import Image, Label, LibraryStore, Report, Series, Study
from ..storage.catalog import to_blob
from .remove import missing_images
from .scan import ScanItem, content_hash, scan

log = logging.getLogger(__name__)

BATCH_SIZE = 32  # images embedded and committed together; small enough to lose little on a crash
DECODE_THREADS = 2  # pydicom / Pillow / numpy release the GIL for most of a decode
SAVE_EVERY_S = 30.0  # FAISS files are rewritten at most this often (the catalog commits every batch)
# header facts kept in the image row's JSON `extra` (not yet filterable columns)
EXTRA_KEYS = ("pixel_spacing", "image_orientation", "patient_orientation", "frames")


@dataclass
class IndexSummary:
    scanned: int = 0  # image files found (added + unchanged + duplicates + failed)
    added: int = 0
    reports_added: int = 0
    unchanged: int = 0  # already in the library (same content hash)
    duplicates: int = 0  # same content as another file in this run
    failed: int = 0
    failures: Counter = field(default_factory=Counter)  # kind of failure -> files (details: failures table)
    removed: int = 0  # images whose files were deleted from the archive since the last run
    skipped: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    def __str__(self) -> str:
        rate = self.added / self.seconds if self.seconds else 0.0
        failed = f"{self.failed} unreadable"
        if self.failures:
            failed += " (" + ", ".join(f"{n} {kind}" for kind, n in sorted(self.failures.items())) + ")"
        parts = [f"scanned {self.scanned} image files: added {self.added} images ({rate:.1f}/s) and "
                 f"{self.reports_added} reports",
                 f"{self.unchanged} already indexed", f"{self.duplicates} duplicate files", failed]
        if self.removed:
            parts.append(f"{self.removed} removed (deleted from the archive)")
        parts += [f"{n} skipped: {reason}" for reason, n in sorted(self.skipped.items())]
        return "; ".join(parts)


def open_or_create(library: str | Path, model_dir: str | Path | None,
                   keep_identifiers: bool | None = None) -> tuple[LibraryStore, RadsearchModel]:
    """Open an existing library (checking `model_dir` matches it) or create one around `model_dir`.

    keep_identifiers: store real patient IDs and accession numbers instead of pseudonyms; chosen when
    the library is created (None = the default, pseudonyms) and fixed afterwards.
    """
    library = Path(library)
    if (library / "radsearch.toml").is_file():
        store = LibraryStore.open(library)
        if keep_identifiers is not None and keep_identifiers != store.config.keep_identifiers:
            stored = "real identifiers" if store.config.keep_identifiers else "pseudonyms"
            raise LibraryMismatch(f"library {library} stores {stored}; that is fixed when a library is created, "
                                  "so index into a new library to change it")
        model = RadsearchModel.from_pretrained(model_dir if model_dir is not None else store.model_path)
        store.check_model(model.model_id, model.profile.hash)  # same weights as the library's own copy
        return store, model
    if model_dir is None:
        raise ModelDirError(f"{library} is a new library: give the model to index with (--model MODEL_DIR)")
    model = RadsearchModel.from_pretrained(model_dir)
    library.mkdir(parents=True, exist_ok=True)
    target = library / "model"
    if Path(model_dir).resolve() != target.resolve():
        shutil.copytree(model_dir, target, dirs_exist_ok=True)  # the library carries its own model
    config = LibraryConfig(model_id=model.model_id, embed_dim=model.embed_dim, profile=model.profile.to_dict(),
                           keep_identifiers=bool(keep_identifiers))
    return LibraryStore.create(library, config), model


def index(source: str | Path, library: str | Path, model_dir: str | Path | None = None,
          batch_size: int = BATCH_SIZE, progress: bool = True, keep_identifiers: bool | None = None) -> IndexSummary:
    """Index every image under `source` into `library`; safe to interrupt and re-run.

    Every frame of a multi-frame DICOM becomes an image. Patient IDs and accession numbers are stored
    as pseudonyms unless the library was created with keep_identifiers=True (see radsearch.privacy).
    """
    started = time.time()
    store, model = open_or_create(library, model_dir, keep_identifiers)
    summary = IndexSummary()
    source = Path(source).resolve()  # stored paths are absolute, whatever the working directory
    found = scan(source)
    summary.skipped.update(found.skipped)
    summary.scanned = len(found.items)
    # files deleted from the archive since the last run leave the library too
    gone = missing_images(store, under=source if source.is_dir() else source.parent)
    if gone:
        summary.removed = store.remove_images(gone)["images"]
    repair_thumbnails(store)
    todo = _new_items(store, found.items, summary, progress)
    images, reports = store.vectors("images"), store.vectors("reports")
    last_save = time.time()
    bar = tqdm(total=len(todo), desc="index", unit="img", disable=not progress)
    with ThreadPoolExecutor(DECODE_THREADS) as pool:
        for start in range(0, len(todo), batch_size):
            batch = todo[start:start + batch_size]
            decoded = list(pool.map(_decode, batch))
            # one (file, image) pair per frame; all frames of a file are committed in the same batch
            ok = [(item, rg) for item, frames in zip(batch, decoded) if isinstance(frames, list) for rg in frames]
            for item, err in zip(batch, decoded):
                if isinstance(err, UnreadableImage):
                    log.warning("%s", err)
                    store.catalog.record_failure(str(item.path), err.reason)
                    summary.failed += 1
                    summary.failures[err.reason.split(" (")[0].split(":")[0]] += 1
            if ok:
                pixels = np.stack(list(pool.map(lambda pair: preprocess(pair[1], model.profile), ok)))
                vectors = model.encode_image(pixels)
                image_ids, report_ids, report_vectors = _write_batch(store, model, ok, vectors)
                images.add(np.array(image_ids), vectors)
                if report_ids:
                    reports.add(np.array(report_ids), report_vectors)
                _write_thumbnails(store, ok, image_ids)
                summary.added += len(image_ids)
                summary.reports_added += len(report_ids)
            bar.update(len(batch))
            if time.time() - last_save > SAVE_EVERY_S:
                store.save_vectors()
                last_save = time.time()
    bar.close()
    store.save_vectors()
    summary.seconds = time.time() - started
    log.info("indexing finished: %s", summary)
    return summary


def _new_items(store: LibraryStore, items: list[ScanItem], summary: IndexSummary, progress: bool) -> list[ScanItem]:
    """Hash every file; keep those whose content is neither in the library nor earlier in this run."""
    for item in tqdm(items, desc="hash", unit="file", disable=not progress):
        item.content_hash = content_hash(item.path)
    known = store.catalog.known_hashes(item.content_hash for item in items)
    seen: set[str] = set()
    todo = []
    for item in items:
        if item.content_hash in known:
            summary.unchanged += 1
        elif item.content_hash in seen:
            summary.duplicates += 1
        else:
            seen.add(item.content_hash)
            todo.append(item)
    return todo


def _decode(item: ScanItem) -> list[Radiograph] | UnreadableImage:
    try:
        return read_frames(item.path)
    except UnreadableImage as e:
        return e


def _facts(item: ScanItem, radiograph: Radiograph, pseudonymise: Pseudonymizer) -> dict:
    """Header metadata, overridden by what the manifest states (the user's declared truth).

    Patient IDs and accession numbers leave this function as pseudonyms (radsearch.privacy).
    """
    facts = dict(radiograph.metadata)
    record = item.record
    if record is not None:
        for key in ("patient_id", "view", "body_part", "sex", "laterality", "study_date", "split"):
            value = getattr(record, key)
            if value:
                facts[key] = value
        if record.age:
            try:
                facts["age"] = float(record.age)
            except ValueError:
                log.warning("%s: age %r in the manifest is not a number; using the header's", item.path, record.age)
    for key in ("body_part", "view"):
        if facts.get(key):
            facts[key] = str(facts[key]).upper()
    date = facts.get("study_date") or ""
    if len(date) == 8 and date.isdigit():  # DICOM DA -> ISO
        facts["study_date"] = f"{date[:4]}-{date[4:6]}-{date[6:]}"
    facts["patient_id"] = pseudonymise(facts.get("patient_id"))
    facts["accession"] = pseudonymise(facts.get("accession"))
    facts["study_key"] = (record.study_id if record and record.study_id else None) or facts.get("study_uid") \
        or f"image-{item.content_hash[:16]}"
    # no series UID (PNG, JPEG, manifests of them): one series per study
    facts["series_key"] = facts.get("series_uid") or f"{facts['study_key']}/series"
    return facts


def _write_batch(store: LibraryStore, model: RadsearchModel, ok: list[tuple[ScanItem, Radiograph]],
                 vectors: np.ndarray) -> tuple[list[int], list[int], np.ndarray]:
    """Insert studies, images, labels and new reports in one transaction; returns the new ids."""
    facts = [_facts(item, rg, store.pseudonymise) for item, rg in ok]
    keys = sorted({f["study_key"] for f in facts})
    series_keys = sorted({f["series_key"] for f in facts})
    with store.catalog.session() as s:
        studies = {st.study_key: st for st in s.scalars(select(Study).where(Study.study_key.in_(keys)))}
        for f in facts:
            if f["study_key"] not in studies:
                study = Study(study_key=f["study_key"], patient_id=f.get("patient_id"), accession=f.get("accession"),
                              study_uid=f.get("study_uid"), study_date=f.get("study_date"))
                s.add(study)
                studies[f["study_key"]] = study
        s.flush()
        series = {se.series_key: se for se in s.scalars(select(Series).where(Series.series_key.in_(series_keys)))}
        for f in facts:
            if f["series_key"] not in series:
                one = Series(study_id=studies[f["study_key"]].id, series_key=f["series_key"],
                             series_uid=f.get("series_uid"), modality=f.get("modality"),
                             number=f.get("series_number"), description=f.get("series_description"))
                s.add(one)
                series[f["series_key"]] = one
        s.flush()
        study_ids = [st.id for st in studies.values()]
        with_report = set(s.scalars(select(Report.study_id).where(Report.study_id.in_(study_ids))))
        new_reports: dict[str, str] = {}
        rows = []
        for (item, rg), f, vector in zip(ok, facts, vectors):
            study = studies[f["study_key"]]
            text = item.record.report if item.record else ""
            if text and study.id not in with_report and f["study_key"] not in new_reports:
                new_reports[f["study_key"]] = text
            extra = {k: f[k] for k in EXTRA_KEYS if f.get(k) not in (None, "", [])}
            if item.record and item.record.regions:
                extra["regions"] = json.loads(item.record.regions)
            row = Image(study_id=study.id, series_id=series[f["series_key"]].id, path=str(item.path),
                        content_hash=item.content_hash, frame=f.get("frame") or 0,
                        patient_id=f.get("patient_id"), sop_uid=f.get("sop_uid"), modality=f.get("modality"),
                        body_part=f.get("body_part"), view=f.get("view"), laterality=f.get("laterality"),
                        sex=f.get("sex"), age=f.get("age"), study_date=f.get("study_date"), split=f.get("split"),
                        institution=f.get("institution"), manufacturer=f.get("manufacturer"),
                        manufacturer_model=f.get("manufacturer_model"),
                        width=rg.shape[1], height=rg.shape[0], profile_hash=model.profile.hash,
                        extra=json.dumps(extra) if extra else None,
                        header=json.dumps(f["header"], separators=(",", ":")) if f.get("header") else None,
                        embedding=to_blob(vector))
            row.labels = [Label(name=name) for name in (item.record.labels if item.record else [])]
            s.add(row)
            rows.append(row)
        report_ids: list[int] = []
        report_vectors = np.zeros((0, model.embed_dim), np.float32)
        if new_reports:
            report_vectors = model.encode_text([embedding_text(t, model.report_sections)
                                                for t in new_reports.values()])
            for (key, text), vector in zip(new_reports.items(), report_vectors):
                report = Report(study_id=studies[key].id, text=text, embedding=to_blob(vector))
                s.add(report)
                s.flush()
                report_ids.append(report.id)
        s.flush()
        return [row.id for row in rows], report_ids, report_vectors


def _write_thumbnails(store: LibraryStore, ok: list[tuple[ScanItem, Radiograph]], ids: list[int]) -> None:
    """Small PNG previews for the UI; derived data, repaired by the next run when a crash loses some."""
    for (_, rg), image_id in zip(ok, ids):
        _write_thumbnail(store, rg, image_id)


def _write_thumbnail(store: LibraryStore, radiograph: Radiograph, image_id: int) -> None:
    folder = store.paths["thumbs"]
    folder.mkdir(exist_ok=True)
    side = store.config.thumbnail_size
    thumb = PILImage.fromarray(np.round(radiograph.pixels * 255).astype(np.uint8))
    thumb.thumbnail((side, side))
    tmp = folder / f".{image_id}.png.tmp"
    thumb.save(tmp, format="PNG")
    os.replace(tmp, folder / f"{image_id}.png")  # a killed run leaves no half-written preview


def repair_thumbnails(store: LibraryStore) -> int:
    """Write the previews a killed run committed rows for but never drew; returns how many."""
    folder = store.paths["thumbs"]
    have = {int(p.stem) for p in folder.glob("*.png") if p.stem.isdigit()} if folder.is_dir() else set()
    lacking = sorted(set(store.catalog.ids("images").tolist()) - have)
    if not lacking:
        return 0
    with store.catalog.session() as s:
        rows = list(s.execute(select(Image.id, Image.path, Image.frame).where(Image.id.in_(lacking))))
    for image_id, path, frame in rows:
        try:
            frames = read_frames(path) if frame else [read(path)]
            _write_thumbnail(store, frames[frame] if frame else frames[0], image_id)
        except (UnreadableImage, IndexError) as e:
            log.warning("no preview for image %d: %s", image_id, e)
    log.info("drew %d missing previews", len(rows))
    return len(rows)
