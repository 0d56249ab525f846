"""The indexing pipeline: scan -> hash -> decode -> embed -> write, one committed batch at a time.

Each batch commits catalog rows and their embeddings in one transaction; the vector indexes are
derived from those rows (see storage.store.sync), so an interrupted run loses nothing and a
re-run adds nothing twice. `Library.index` (radsearch.library) runs it on an opened library.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..columns import BY_NAME, FROM_MANIFEST
from ..datasets import embedding_text, report_sentences
from ..datasets.dicom_sr import SRReport
from ..errors import UnreadableImage
from ..files import content_hash
from ..models import Encoder, encode_images, encode_texts, encoder_threads, set_encoder_threads
from ..privacy import Pseudonymizer
from ..storage import CopyRecord, LibraryStore, NewImage, NewReport, NewSentence, disk_full_is_reported
from ..storage.thumbnails import repair_thumbnails, write_thumbnail
from ..text_identifiers import scrub
from ..threads import indexer_threads, threads_for
from .prepare import EmbeddedBatch, OtherDocument, PreparedFrame
from .remove import missing_images
from .scan import ScanItem, ScanResult, scan
from .workers import decoded, default_workers

log = logging.getLogger(__name__)

BATCH_SIZE = 32  # images embedded and committed together; small enough to lose little on a crash
HASH_THREADS = 4  # files hashed at once (I/O and sha256 overlap; hashlib releases the GIL)
TIMED_BATCHES = 3  # batches after which the encoder's threads are revised from the two stages' times
SAVE_EVERY_S = 30.0  # vector index files are rewritten at most this often (the catalog commits every batch)
# header facts kept in the image row's JSON `extra` (not filterable columns)
EXTRA_KEYS = ("pixel_spacing", "image_orientation", "patient_orientation", "frames")
STUDY_FACTS = ("accession", "study_uid", "study_date")  # a new study's row takes these from its first image


@dataclass
class IndexSummary:
    scanned: int = 0  # image files found (added + unchanged + duplicates + failed)
    added: int = 0
    reports_added: int = 0  # from the manifest and from DICOM structured reports
    structured_reports: int = 0  # DICOM SR documents read (their reports are in reports_added)
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
    pacs: Counter = field(default_factory=Counter)  # a PACS sync's counts: studies, listed, known, fetched, ...

    def absorb(self, other: IndexSummary) -> None:
        """Add another run's counts to these (a PACS sync indexes what it fetched in several runs)."""
        for name in ("scanned", "added", "reports_added", "structured_reports", "unchanged", "duplicates", "failed",
                     "removed", "replaced", "decode_seconds", "embed_seconds", "write_seconds"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("failures", "skipped", "pacs"):
            getattr(self, name).update(getattr(other, name))
        self.workers = other.workers

    def __str__(self) -> str:
        rate = self.added / self.seconds if self.seconds else 0.0
        failed = f"{self.failed} unreadable"
        if self.failures:
            failed += " (" + ", ".join(f"{n} {kind}" for kind, n in sorted(self.failures.items())) + ")"
        parts = [f"scanned {self.scanned} files: added {self.added} images ({rate:.1f}/s) and "
                 f"{self.reports_added} reports"
                 + (f" ({self.structured_reports} DICOM structured reports read)" if self.structured_reports else ""),
                 f"{self.unchanged} already indexed", f"{self.duplicates} duplicate files", failed]
        if self.removed:
            parts.append(f"{self.removed} removed (deleted from the archive)")
        if self.replaced:
            parts.append(f"{self.replaced} replaced (file rewritten with new content)")
        if self.pacs:
            parts.insert(0, "PACS: " + ", ".join(f"{n} {what}" for what, n in self.pacs.items()))
        parts += [f"{n} skipped: {reason}" for reason, n in sorted(self.skipped.items())]
        if self.predicted:
            parts.append("stored head predictions for new images: "
                         + ", ".join(f"{head} {n}" for head, n in sorted(self.predicted.items())))
        if self.added:
            parts.append(f"time: decode {self.decode_seconds:.1f} s on {self.workers or 'no'} worker processes, "
                         f"embed {self.embed_seconds:.1f} s, write {self.write_seconds:.1f} s")
        return "; ".join(parts)


def index_files(store: LibraryStore, encoder: Encoder, source: str | Path | list[Path], batch_size: int = BATCH_SIZE,
                progress: bool = True, workers: int | None = None, ray_address: str | None = None,
                rehash: bool = False) -> IndexSummary:
    """Index every image under `source` into an opened library with its encoder; safe to interrupt and re-run.

    Every frame of a multi-frame DICOM becomes an image. Patient IDs and accession numbers are stored
    as pseudonyms unless the library was created to keep identifiers (see radsearch.privacy).
    workers: decode processes (None = one per core; 0 = decode in this process).
    ray_address: embed on a Ray cluster ("auto", "ray://host:10001", or "local" to start one here).
    rehash: read and hash every file, even those whose path, size and modification time are known.
    A list of files as `source` indexes exactly those (what a PACS sync fetched) and removes nothing.
    """
    with disk_full_is_reported(store.root):
        return _index(store, encoder, source, batch_size, progress, workers, ray_address, rehash)


def _index(store: LibraryStore, encoder: Encoder, source: str | Path | list[Path], batch_size: int, progress: bool,
           workers: int | None, ray_address: str | None, rehash: bool) -> IndexSummary:
    started = time.time()
    summary = IndexSummary(workers=default_workers() if workers is None else max(0, workers))
    if isinstance(source, (list, tuple)):  # files fetched from a PACS: index exactly these, remove nothing
        found = ScanResult([ScanItem(Path(path).resolve()) for path in source])
    else:
        source = Path(source).resolve()  # stored paths are absolute, whatever the working directory
        found = scan(source)
        # files deleted from the archive since the last run leave the library too
        gone = missing_images(store, under=source if source.is_dir() else source.parent)
        if gone:
            summary.removed = len(store.remove_images(gone).images)
        store.catalog.forget_missing_copies(str(source if source.is_dir() else source.parent))
    summary.skipped.update(found.skipped)
    summary.scanned = len(found.items)
    repair_thumbnails(store, leftovers_before=started)
    todo = _new_items(store, found.items, summary, progress, rehash)
    indexes = {kind: store.vectors(kind) for kind in ("images", "reports", "sentences")}
    if ray_address:
        from .distributed import ray_batches  # Ray is an optional extra
        batches = ray_batches(todo, store, batch_size, ray_address)
    else:
        batches = local_batches(todo, encoder, store.config.thumbnail_size, batch_size, summary.workers)
    last_save = time.time()
    structured: list[tuple[ScanItem, SRReport]] = []
    bar = tqdm(total=len(todo), desc="index", unit="img", disable=not progress)
    for batch in batches:
        summary.decode_seconds += batch.decode_seconds
        summary.embed_seconds += batch.embed_seconds
        for item, document in batch.documents:
            if isinstance(document, OtherDocument):
                summary.skipped[f"DICOM {document.kind}, not an image or a report"] += 1
            else:
                structured.append((item, document))
        for item, err in batch.failures:
            log.warning("%s", err)
            store.catalog.record_failure(str(item.path), err.reason)
            summary.failed += 1
            summary.failures[err.reason.split(" (")[0].split(":")[0]] += 1
        if batch.frames:
            images = [_new_image(item, frame, vector, store.pseudonymise, encoder.profile.hash)
                      for (item, frame), vector in zip(batch.frames, batch.vectors)]
            text_started = time.perf_counter()
            reports = _new_reports(store, encoder, batch.frames, images)
            summary.embed_seconds += time.perf_counter() - text_started
            write_started = time.perf_counter()
            written = store.catalog.write_batch(images, reports)
            for kind, (ids, vectors) in written.by_kind().items():
                indexes[kind].add(np.array(ids, dtype=np.int64), vectors)
            for (_, frame), image_id in zip(batch.frames, written.images[0]):
                write_thumbnail(store, image_id, frame.preview)
            summary.added += len(written.images[0])
            summary.reports_added += len(written.reports[0])
            summary.write_seconds += time.perf_counter() - write_started
        bar.update(batch.files)
        if time.time() - last_save > SAVE_EVERY_S:
            store.save_vectors()
            last_save = time.time()
    bar.close()
    if structured:  # after the images, so a report finds the study its images made in this run
        _write_structured_reports(store, encoder, structured, indexes, summary)
    store.save_vectors()
    summary.seconds = time.time() - started
    return summary


def _write_structured_reports(store: LibraryStore, encoder: Encoder, documents: list[tuple[ScanItem, SRReport]],
                              indexes: dict, summary: IndexSummary) -> None:
    """Store each SR as the report of the study with its Study Instance UID, where that study has none yet.

    A study's final (verified, complete) document wins over a preliminary one, then the latest. An SR
    whose study has no images in the library yet is not stored (a report needs its study) and is read
    again by the next run, when its images may have arrived. SR files are small; they are not hashed
    into the catalog, so every run reads them again.
    """
    summary.structured_reports += len(documents)
    best: dict[str, SRReport] = {}
    for _, document in documents:
        if document.study_uid not in best or document.rank() > best[document.study_uid].rank():
            best[document.study_uid] = document
    keys = store.catalog.study_keys_by_uid(list(best))
    waiting = len(best) - len(keys)
    if waiting:
        summary.skipped["DICOM structured reports whose study has no images here yet (read again next run)"] \
            += waiting
    texts = {keys[uid]: document.text for uid, document in best.items() if uid in keys}
    for key in store.catalog.studies_with_reports(list(texts)):  # a manifest's report, or an earlier run's
        del texts[key]
    if not texts:
        return
    written = store.catalog.write_batch([], embedded_reports(encoder, _without_identifiers(store, texts)))
    for kind, (ids, vectors) in written.by_kind().items():
        indexes[kind].add(np.array(ids, dtype=np.int64), vectors)
    summary.reports_added += len(written.reports[0])


def record_run(store: LibraryStore, source: str | Path | list[Path], summary: IndexSummary) -> None:
    """Keep a finished run in the catalog (the UI's Library page shows the latest)."""
    if isinstance(source, (list, tuple)):
        named = f"{len(source)} files" + (f" under {Path(source[0]).parent}" if source else "")
    else:
        named = str(source) if str(source).lower().startswith("dicomweb+") else str(Path(source).resolve())
    store.catalog.record_run(named, summary.seconds, summary.added, summary.failed, str(summary))
    log.info("indexing finished: %s", summary)


def local_batches(todo: list[ScanItem], encoder: Encoder, preview_side: int, batch_size: int,
                  workers: int) -> Iterator[EmbeddedBatch]:
    """Decode on worker processes while this process embeds the previous batch.

    While it runs, the encoder starts on the cores the decode workers leave (radsearch.threads): a team as large
    as the machine would wait on busy workers at every operation. After TIMED_BATCHES it takes every core if
    embedding turned out to cost more than decoding (the workers then mostly wait). The caller's count returns."""
    threads = encoder_threads()
    set_encoder_threads(min(threads, threads_for("index", workers)))
    decode_seconds = embed_seconds = 0.0
    images = 0
    try:
        stream = decoded(todo, encoder.profile, preview_side, workers)
        for n, chunk in enumerate(iter(lambda: list(islice(stream, batch_size)), [])):
            frames = [(item, frame) for item, result, _ in chunk if isinstance(result, list) for frame in result]
            failures = [(item, result) for item, result, _ in chunk if isinstance(result, UnreadableImage)]
            documents = [(item, result) for item, result, _ in chunk
                         if isinstance(result, (SRReport, OtherDocument))]
            embed_started = time.perf_counter()
            vectors = encode_images(encoder, [f.pixels for _, f in frames], batch_size)
            batch = EmbeddedBatch(frames, vectors, failures, len(chunk), sum(seconds for *_, seconds in chunk),
                                  time.perf_counter() - embed_started, documents)
            decode_seconds, embed_seconds, images = (decode_seconds + batch.decode_seconds,
                                                     embed_seconds + batch.embed_seconds, images + len(frames))
            if workers and n + 1 == TIMED_BATCHES and images:
                set_encoder_threads(min(threads, indexer_threads(workers, decode_seconds / images,
                                                                 embed_seconds / images)))
            yield batch
    finally:
        set_encoder_threads(threads)


def _new_items(store: LibraryStore, items: list[ScanItem], summary: IndexSummary, progress: bool,
               rehash: bool = False) -> list[ScanItem]:
    """The files to decode: neither in the library already nor earlier in this run.

    A file whose path, size and modification time match an indexed one is not read at all, so a
    daily run over a large archive costs a stat per file; the others are hashed. A file rewritten
    in place with new content replaces its old images. rehash=True hashes every file regardless.
    """
    known = {path: (state.size, state.mtime_ns, state.content_hash)
             for path, state in store.catalog.file_states().items()}
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
        summary.replaced = len(store.remove_images(store.catalog.image_ids_of(
            [(str(item.path), known[str(item.path)][2]) for item in replaced])).images)
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


def _copy_row(item: ScanItem, pseudonymise: Pseudonymizer) -> CopyRecord:
    """The catalog row of a duplicate file: its path, content and what its manifest row says of it."""
    record = item.record
    return CopyRecord(path=str(item.path), content_hash=item.content_hash,
                      patient_id=pseudonymise(record.patient_id) if record and record.patient_id else None,
                      study_key=record.study_id if record and record.study_id else None,
                      split=record.split if record and record.split else None)


def _columns(item: ScanItem, frame: PreparedFrame, pseudonymise: Pseudonymizer) -> dict:
    """The registry columns of one frame: the header's values, overridden by what the manifest states
    (the user's declared truth). Identifiers leave this function as pseudonyms (radsearch.privacy)."""
    values = {name: frame.metadata.get(name) for name in BY_NAME}
    if item.record is not None:
        for column in FROM_MANIFEST:
            given = item.record.value(column.manifest)
            if not given:
                continue
            try:
                values[column.name] = column.convert(given)
            except ValueError:
                log.warning("%s: %s %r in the manifest is not a %s; using the header's", item.path, column.name,
                            given, column.kind)
    for column in BY_NAME.values():
        if column.identifier:
            values[column.name] = pseudonymise(values[column.name])
    return values


def _new_image(item: ScanItem, frame: PreparedFrame, vector: np.ndarray, pseudonymise: Pseudonymizer,
               profile_hash: str) -> NewImage:
    """The catalog row of one frame, with its study and series keys and facts."""
    meta = frame.metadata
    columns = _columns(item, frame, pseudonymise)
    record = item.record
    study_key = (record.study_id if record and record.study_id else None) or meta.get("study_uid") \
        or f"image-{item.content_hash[:16]}"
    extra = {k: meta[k] for k in EXTRA_KEYS if meta.get(k) not in (None, "", [])}
    if record and record.regions:
        extra["regions"] = json.loads(record.regions)
    height, width = frame.shape
    study = {"accession": pseudonymise(meta.get("accession")), "study_uid": meta.get("study_uid"),
             "study_date": columns.get("study_date")}
    series = {"series_uid": meta.get("series_uid"), "modality": columns.get("modality"),
              "number": meta.get("series_number")}
    return NewImage(path=str(item.path), content_hash=item.content_hash, frame=meta.get("frame") or 0,
                    file_size=item.size, file_mtime_ns=item.mtime_ns, width=width, height=height,
                    profile_hash=profile_hash, vector=vector, study_key=study_key,
                    # no series UID (PNG, JPEG, manifests of them): one series per study
                    series_key=meta.get("series_uid") or f"{study_key}/series", columns=columns, study=study,
                    series=series, labels=list(record.labels) if record else [], extra=extra,
                    header=meta.get("header"))


def _new_reports(store: LibraryStore, encoder: Encoder, frames: list[tuple[ScanItem, PreparedFrame]],
                 images: list[NewImage]) -> list[NewReport]:
    """The reports of this batch's studies that the catalog lacks, embedded with their sentences. A model
    without a text tower stores the text alone (a zero vector, no sentences): hits still show it."""
    texts: dict[str, str] = {}
    for (item, _), image in zip(frames, images):
        if item.record and item.record.report and image.study_key not in texts:
            texts[image.study_key] = item.record.report
    for key in store.catalog.studies_with_reports(list(texts)):
        del texts[key]
    return embedded_reports(encoder, _without_identifiers(store, texts)) if texts else []


def _without_identifiers(store: LibraryStore, texts: dict[str, str]) -> dict[str, str]:
    """Report texts as the library stores and embeds them: names, dates, numbers as placeholders."""
    if store.config.keep_report_identifiers:
        return texts
    return {key: scrub(text) for key, text in texts.items()}


def embedded_reports(encoder: Encoder, texts: dict[str, str]) -> list[NewReport]:
    """Report rows for study key -> text, embedded with their sentences (a zero vector and no sentences
    for a model without a text tower: hits still show the text)."""
    if "text" not in encoder.towers:
        zero = np.zeros(encoder.embed_dim, np.float32)
        return [NewReport(key, text, zero) for key, text in texts.items()]
    reports = [NewReport(key, text, np.zeros(0)) for key, text in texts.items()]
    sentences = [(report, section, sentence) for report in reports
                 for section, sentence in report_sentences(report.text)]
    report_vectors = encode_texts(encoder, [embedding_text(r.text, encoder.report_sections) for r in reports])
    sentence_vectors = encode_texts(encoder, [sentence for _, _, sentence in sentences])
    for report, vector in zip(reports, report_vectors):
        report.vector = vector
    for (report, section, sentence), vector in zip(sentences, sentence_vectors):
        report.sentences.append(NewSentence(section, sentence, vector))
    return reports
