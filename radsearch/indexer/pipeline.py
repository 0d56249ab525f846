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
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import numpy as np
from sqlalchemy import select
from tqdm import tqdm

from ..config import LibraryConfig
from ..datasets import embedding_text, report_sentences
from ..errors import LibraryMismatch, ModelDirError, UnreadableImage
from ..heads import HeadRegistry
from ..imaging import read, read_frames
from ..models import RadsearchModel
from ..privacy import Pseudonymizer
from ..storage import Image, Label, LibraryStore, Report, Sentence, Series, Study
from ..storage.catalog import KINDS, to_blob
from ..storage.database import new_library_url, parse, prepare_database, safe
from ..storage.store import disk_full_is_reported
from .prepare import EmbeddedBatch, PreparedFrame, preview_png
from .remove import missing_images
from .scan import ScanItem, content_hash, scan
from .workers import decoded, default_workers

log = logging.getLogger(__name__)

BATCH_SIZE = 32  # images embedded and committed together; small enough to lose little on a crash
TEXT_BATCH = 256  # report sentences embedded at once
HASH_THREADS = 4  # files hashed at once (I/O and sha256 overlap; hashlib releases the GIL)
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
    replaced: int = 0  # images whose file was rewritten with new content (re-indexed from the new one)
    skipped: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    workers: int = 0  # decode processes (0: decoded in the main process)
    decode_seconds: float = 0.0  # summed over workers: decode, preprocess, preview
    embed_seconds: float = 0.0  # image and text encoders
    write_seconds: float = 0.0  # catalog transaction, FAISS add, previews (text encoding excluded)
    predicted: dict = field(default_factory=dict)  # head -> new images given a stored prediction

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
        if self.replaced:
            parts.append(f"{self.replaced} replaced (file rewritten with new content)")
        parts += [f"{n} skipped: {reason}" for reason, n in sorted(self.skipped.items())]
        if self.predicted:
            parts.append("stored head predictions for new images: "
                         + ", ".join(f"{head} {n}" for head, n in sorted(self.predicted.items())))
        if self.added:
            parts.append(f"time: decode {self.decode_seconds:.1f} s on {self.workers or 'no'} worker processes, "
                         f"embed {self.embed_seconds:.1f} s, write {self.write_seconds:.1f} s")
        return "; ".join(parts)


def open_or_create(library: str | Path, model_dir: str | Path | None, keep_identifiers: bool | None = None,
                   database_url: str | None = None) -> tuple[LibraryStore, RadsearchModel]:
    """Open an existing library (checking `model_dir` matches it) or create one around `model_dir`.

    keep_identifiers: store real patient IDs and accession numbers instead of pseudonyms; chosen when
    the library is created (None = the default, pseudonyms) and fixed afterwards.
    database_url: where a new library's catalog goes (storage.database.new_library_url).
    """
    library = Path(library)
    if (library / "radsearch.toml").is_file():
        store = LibraryStore.open(library)
        if database_url and parse(database_url) != parse(store.database_url):
            raise LibraryMismatch(f"library {library} keeps its catalog at {safe(store.database_url)}; "
                                  "the database is chosen when a library is created")
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
    url = prepare_database(new_library_url(library, database_url))  # before any file: a bad URL leaves nothing
    library.mkdir(parents=True, exist_ok=True)
    target = library / "model"
    if Path(model_dir).resolve() != target.resolve():
        shutil.copytree(model_dir, target, dirs_exist_ok=True)  # the library carries its own model
    config = LibraryConfig(model_id=model.model_id, embed_dim=model.embed_dim, profile=model.profile.to_dict(),
                           keep_identifiers=bool(keep_identifiers), database_url=url)
    return LibraryStore.create(library, config), model


def index(source: str | Path, library: str | Path, model_dir: str | Path | None = None,
          batch_size: int = BATCH_SIZE, progress: bool = True, keep_identifiers: bool | None = None,
          workers: int | None = None, database_url: str | None = None, ray_address: str | None = None,
          rehash: bool = False) -> IndexSummary:
    """Index every image under `source` into `library`; safe to interrupt and re-run.

    Every frame of a multi-frame DICOM becomes an image. Patient IDs and accession numbers are stored
    as pseudonyms unless the library was created with keep_identifiers=True (see radsearch.privacy).
    workers: decode processes (None = one per core; 0 = decode in this process).
    database_url: the catalog of a new library (default SQLite inside it; see storage.database).
    ray_address: embed on a Ray cluster ("auto", "ray://host:10001", or "local" to start one here).
    rehash: read and hash every file, even those whose path, size and modification time are known.
    """
    with disk_full_is_reported(library):
        return _index(source, library, model_dir, batch_size, progress, keep_identifiers, workers, database_url,
                      ray_address, rehash)


def _index(source: str | Path, library: str | Path, model_dir: str | Path | None, batch_size: int, progress: bool,
           keep_identifiers: bool | None, workers: int | None, database_url: str | None, ray_address: str | None,
           rehash: bool) -> IndexSummary:
    started = time.time()
    store, model = open_or_create(library, model_dir, keep_identifiers, database_url)
    summary = IndexSummary(workers=default_workers() if workers is None else max(0, workers))
    source = Path(source).resolve()  # stored paths are absolute, whatever the working directory
    found = scan(source)
    summary.skipped.update(found.skipped)
    summary.scanned = len(found.items)
    # files deleted from the archive since the last run leave the library too
    gone = missing_images(store, under=source if source.is_dir() else source.parent)
    if gone:
        summary.removed = store.remove_images(gone)["images"]
    store.catalog.forget_missing_copies(str(source if source.is_dir() else source.parent))
    repair_thumbnails(store)
    todo = _new_items(store, found.items, summary, progress, rehash)
    indexes = {kind: store.vectors(kind) for kind in KINDS}
    if ray_address:
        from .distributed import ray_batches  # Ray is an optional extra
        batches = ray_batches(todo, store, batch_size, ray_address)
    else:
        batches = local_batches(todo, model, store.config.thumbnail_size, batch_size, summary.workers)
    last_save = time.time()
    bar = tqdm(total=len(todo), desc="index", unit="img", disable=not progress)
    for batch in batches:
        summary.decode_seconds += batch.decode_seconds
        summary.embed_seconds += batch.embed_seconds
        for item, err in batch.failures:
            log.warning("%s", err)
            store.catalog.record_failure(str(item.path), err.reason)
            summary.failed += 1
            summary.failures[err.reason.split(" (")[0].split(":")[0]] += 1
        if batch.frames:
            write_started, text_seconds = time.perf_counter(), summary.embed_seconds
            written = _write_batch(store, model, batch.frames, batch.vectors, summary)
            for kind, (ids, vectors) in written.items():
                indexes[kind].add(np.array(ids, dtype=np.int64), vectors)
            _write_previews(store, batch.frames, written["images"][0])
            summary.added += len(written["images"][0])
            summary.reports_added += len(written["reports"][0])
            text_seconds = summary.embed_seconds - text_seconds  # report text encoded inside the transaction
            summary.write_seconds += time.perf_counter() - write_started - text_seconds
        bar.update(batch.files)
        if time.time() - last_save > SAVE_EVERY_S:
            store.save_vectors()
            last_save = time.time()
    bar.close()
    store.save_vectors()
    if summary.added:  # heads whose predictions are stored score the new images too (filters stay complete)
        summary.predicted = {name: n for name, n in HeadRegistry(store).update_stored().items() if n}
    summary.seconds = time.time() - started
    store.catalog.record_run(str(source), summary.seconds, summary.added, summary.failed, str(summary))
    log.info("indexing finished: %s", summary)
    return summary


def local_batches(todo: list[ScanItem], model: RadsearchModel, preview_side: int, batch_size: int,
                  workers: int) -> Iterator[EmbeddedBatch]:
    """Decode on worker processes while this process embeds the previous batch."""
    stream = decoded(todo, model.profile, preview_side, workers)
    while chunk := list(islice(stream, batch_size)):
        frames = [(item, frame) for item, result, _ in chunk if isinstance(result, list) for frame in result]
        failures = [(item, result) for item, result, _ in chunk if isinstance(result, UnreadableImage)]
        embed_started = time.perf_counter()
        vectors = np.zeros((0, model.embed_dim), np.float32)
        if frames:
            vectors = np.concatenate([model.encode_image(np.stack([f.pixels for _, f in frames[i:i + batch_size]]))
                                      for i in range(0, len(frames), batch_size)])
        yield EmbeddedBatch(frames, vectors, failures, len(chunk), sum(seconds for *_, seconds in chunk),
                            time.perf_counter() - embed_started)


def _new_items(store: LibraryStore, items: list[ScanItem], summary: IndexSummary, progress: bool,
               rehash: bool = False) -> list[ScanItem]:
    """The files to decode: neither in the library already nor earlier in this run.

    A file whose path, size and modification time match an indexed one is not read at all, so a
    daily run over a large archive costs a stat per file; the others are hashed. A file rewritten
    in place with new content replaces its old images. rehash=True hashes every file regardless.
    """
    known = store.catalog.file_stats()
    to_hash = []
    for item in items:
        stat = item.path.stat()
        item.size, item.mtime_ns = stat.st_size, stat.st_mtime_ns
        stored = known.get(str(item.path))
        if not rehash and stored and stored[:2] == (item.size, item.mtime_ns):
            item.content_hash = stored[2]
            summary.unchanged += 1
        else:
            to_hash.append(item)
    with ThreadPoolExecutor(HASH_THREADS) as pool:  # hashlib releases the GIL: threads hash in parallel
        hashes = pool.map(content_hash, [item.path for item in to_hash])
        for item, digest in zip(to_hash, tqdm(hashes, total=len(to_hash), desc="hash", unit="file",
                                               disable=not progress)):
            item.content_hash = digest
    replaced = [item for item in to_hash if str(item.path) in known and known[str(item.path)][2] != item.content_hash]
    if replaced:
        summary.replaced = store.remove_images(store.catalog.image_ids_of(
            [(str(item.path), known[str(item.path)][2]) for item in replaced]))["images"]
    found = store.catalog.known_hashes(item.content_hash for item in to_hash)
    store.catalog.update_file_stats({str(item.path): (item.size, item.mtime_ns) for item in to_hash
                                     if item.content_hash in found and str(item.path) in known})
    seen: set[str] = set()
    todo = []
    copies = []
    for item in to_hash:
        same_file = str(item.path) in known and known[str(item.path)][2] == item.content_hash
        if item.content_hash in found and same_file:
            summary.unchanged += 1
        elif item.content_hash in found or item.content_hash in seen:
            summary.duplicates += 1
            copies.append(_copy_row(item, store.pseudonymise))
        else:
            seen.add(item.content_hash)
            todo.append(item)
    # exact duplicates are not indexed twice, but curation reports them (and the splits they leak into)
    store.catalog.record_copies([str(item.path) for item in to_hash], copies)
    return todo


def _copy_row(item: ScanItem, pseudonymise: Pseudonymizer) -> dict:
    """The catalog row of a duplicate file: its path, content and what its manifest row says of it."""
    record = item.record
    return {"path": str(item.path), "content_hash": item.content_hash,
            "patient_id": pseudonymise(record.patient_id) if record and record.patient_id else None,
            "study_key": record.study_id if record and record.study_id else None,
            "split": record.split if record and record.split else None}


def _facts(item: ScanItem, frame: PreparedFrame, pseudonymise: Pseudonymizer) -> dict:
    """Header metadata, overridden by what the manifest states (the user's declared truth).

    Patient IDs and accession numbers leave this function as pseudonyms (radsearch.privacy).
    """
    facts = dict(frame.metadata)
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


def _write_batch(store: LibraryStore, model: RadsearchModel, frames: list[tuple[ScanItem, PreparedFrame]],
                 vectors: np.ndarray, summary: IndexSummary) -> dict[str, tuple[list[int], np.ndarray]]:
    """Insert studies, series, images, labels, new reports and their sentences in one transaction.

    Returns kind -> (new ids, their vectors) for the images, reports and sentences indexes.
    """
    facts = [_facts(item, frame, store.pseudonymise) for item, frame in frames]
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
        for (item, frame), f, vector in zip(frames, facts, vectors):
            study = studies[f["study_key"]]
            text = item.record.report if item.record else ""
            if text and study.id not in with_report and f["study_key"] not in new_reports:
                new_reports[f["study_key"]] = text
            extra = {k: f[k] for k in EXTRA_KEYS if f.get(k) not in (None, "", [])}
            if item.record and item.record.regions:
                extra["regions"] = json.loads(item.record.regions)
            height, width = frame.shape
            row = Image(study_id=study.id, series_id=series[f["series_key"]].id, path=str(item.path),
                        content_hash=item.content_hash, frame=f.get("frame") or 0,
                        file_size=item.size, file_mtime_ns=item.mtime_ns,
                        patient_id=f.get("patient_id"), sop_uid=f.get("sop_uid"), modality=f.get("modality"),
                        body_part=f.get("body_part"), view=f.get("view"), laterality=f.get("laterality"),
                        sex=f.get("sex"), age=f.get("age"), study_date=f.get("study_date"), split=f.get("split"),
                        institution=f.get("institution"), manufacturer=f.get("manufacturer"),
                        manufacturer_model=f.get("manufacturer_model"),
                        width=width, height=height, profile_hash=model.profile.hash,
                        extra=json.dumps(extra) if extra else None,
                        header=json.dumps(f["header"], separators=(",", ":")) if f.get("header") else None,
                        embedding=to_blob(vector))
            row.labels = [Label(name=name) for name in (item.record.labels if item.record else [])]
            s.add(row)
            rows.append(row)
        reports = [Report(study_id=studies[key].id, text=text) for key, text in new_reports.items()]
        sentences = [Sentence(report=report, position=n, section=section, text=sentence)
                     for report in reports
                     for n, (section, sentence) in enumerate(report_sentences(report.text))]
        text_started = time.perf_counter()
        report_vectors = _encode_texts(model, [embedding_text(r.text, model.report_sections) for r in reports])
        sentence_vectors = _encode_texts(model, [sentence.text for sentence in sentences])
        summary.embed_seconds += time.perf_counter() - text_started
        for row, vector in zip([*reports, *sentences], [*report_vectors, *sentence_vectors]):
            row.embedding = to_blob(vector)
            s.add(row)
        s.flush()
        return {"images": ([row.id for row in rows], vectors),
                "reports": ([r.id for r in reports], report_vectors),
                "sentences": ([t.id for t in sentences], sentence_vectors)}


def _encode_texts(model: RadsearchModel, texts: list[str]) -> np.ndarray:
    """Text embeddings in chunks (a batch of reports can hold hundreds of sentences)."""
    if not texts:
        return np.zeros((0, model.embed_dim), np.float32)
    return np.concatenate([model.encode_text(texts[i:i + TEXT_BATCH]) for i in range(0, len(texts), TEXT_BATCH)])


def _write_previews(store: LibraryStore, frames: list[tuple[ScanItem, PreparedFrame]], ids: list[int]) -> None:
    """Small PNG previews for the UI; derived data, repaired by the next run when a crash loses some."""
    for (_, frame), image_id in zip(frames, ids):
        _write_preview(store, frame.preview, image_id)


def _write_preview(store: LibraryStore, png: bytes, image_id: int) -> None:
    folder = store.paths["thumbs"]
    folder.mkdir(exist_ok=True)
    tmp = folder / f".{image_id}.png.tmp"
    tmp.write_bytes(png)
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
            _write_preview(store, preview_png(frames[frame], store.config.thumbnail_size), image_id)
        except (UnreadableImage, IndexError) as e:
            log.warning("no preview for image %d: %s", image_id, e)
    log.info("drew %d missing previews", len(rows))
    return len(rows)
