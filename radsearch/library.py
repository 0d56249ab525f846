"""`Library`: the one object the CLI, the UI and scripts hold. It opens (or creates) a library folder, owns its
storage and its encoder, and exposes search, task heads, curation, indexing, integrity and facts.

    lib = radsearch.open_library("lib/")
    lib.search("left pleural effusion", k=5)        # routed: text, image, ids, several images; or a verb:
    lib.search.image("query.dcm", where={"view": "PA"})
    lib.heads.train("effusion", labels=["pleural_effusion"]); lib.curate.duplicates(); lib.index("archive/")
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .columns import COLUMNS, Column
from .config import LibraryConfig, budget_bytes, write_config
from .curation import Curator
from .datasets.report_reading import Finding, read_report
from .errors import LibraryCorrupt, LibraryMismatch, ModelDirError
from .files import CONFIG_FILE, content_hash
from .heads import HeadRegistry
from .indexer import IndexSummary, index_files, record_run, remove_files
from .indexer.pipeline import BATCH_SIZE
from .models import Encoder, check_precision, load_encoder, set_encoder_threads, set_precision
from .pacs import is_dicomweb_url
from .search import Collections, Feedback, SearchEngine
from .search.viewer import viewer_template, viewer_url
from .storage import AuditRecord, ImageRecord, LibraryStore, one_writer
from .storage.database import new_library_url, parse, prepare_database, safe
from .storage.integrity import CheckReport, check_library
from .storage.repair import RepairSummary, repair_library
from .storage.vectors import set_vector_threads
from .threads import threads_for

log = logging.getLogger(__name__)
OVERVIEW_COUNTS = ("body_part", "view", "labels", "split")  # what the Library page counts images by


class Library:
    """An opened library. The encoder loads on first use; the vector indexes when first searched."""

    def __init__(self, store: LibraryStore, encoder: Encoder | None = None) -> None:
        self.store = store
        self._encoder = encoder
        if encoder is not None:
            store.check_model(encoder.model_id, encoder.profile.hash)
            self._apply_precision(encoder)
        self._search: SearchEngine | None = None
        self._heads: HeadRegistry | None = None

    @property
    def path(self) -> Path:
        return self.store.root

    @property
    def encoder(self) -> Encoder:
        """The library's own model (LIB/model), checked against the one its vectors were made with."""
        if self._encoder is None:
            encoder = load_encoder(self.store.model_path)
            self.store.check_model(encoder.model_id, encoder.profile.hash)
            self._encoder = self._apply_precision(encoder)
        return self._encoder

    def _apply_precision(self, encoder: Encoder) -> Encoder:
        """The encoder set to embed at the library's `precision` (radsearch.toml)."""
        try:
            return set_precision(encoder, self.store.config.precision)
        except ValueError as e:
            raise LibraryCorrupt(f"{self.path / CONFIG_FILE}: {e}; correct its precision line") from e

    @property
    def search(self) -> SearchEngine:
        """Image, text, report and sentence search; call it to route a query (radsearch.search)."""
        if self._search is None:
            self._search = SearchEngine(self.store, lambda: self.encoder)
        return self._search

    @property
    def heads(self) -> HeadRegistry:
        """Task heads: train, list, get, predict, explain, remove, store predictions (radsearch.heads)."""
        if self._heads is None:
            self._heads = HeadRegistry(self.store, lambda: self.encoder)
        return self._heads

    @property
    def collections(self) -> Collections:
        """Named sets of cases and searches, kept in the catalog and usable as examples (radsearch.search)."""
        return Collections(self.search)

    @property
    def feedback(self) -> Feedback:
        """Relevance marks on results, and searches refined by them (radsearch.search)."""
        return Feedback(self.search)

    def export_collection(self, name: str, out: str | Path) -> tuple[Path, int]:
        """A collection's cases (those still indexed) as a manifest; returns its path and row count."""
        return self.curate.export(out, ids=self.collections.image_ids(name))

    @property
    def curate(self) -> Curator:
        """Dataset curation: duplicates, leakage, outliers, label noise, map, export (radsearch.curation)."""
        return Curator(self.store, lambda: self.encoder)

    # -- building and keeping it ---------------------------------------------------------------------
    def index(self, source: str | Path, batch_size: int = BATCH_SIZE, progress: bool = True,
              workers: int | None = None, ray_address: str | None = None, rehash: bool = False,
              wait: float | None = 0.0, **pacs: Any) -> IndexSummary:
        """Index an archive folder, a manifest or one image (indexer.pipeline), or a PACS named
        `dicomweb+http://HOST:PORT/dicom-web` (indexer.dicomweb; `pacs`: modalities, since, until, body_parts,
        credentials); re-runs add only new files. Heads with stored predictions score the new images too,
        so their filters stay complete. Another process writing to the library makes this wait up to `wait`
        seconds (None: until it ends), then raise LibraryBusy (storage.writer)."""
        if pacs and not is_dicomweb_url(source):
            raise ValueError(f"{', '.join(pacs)} apply to a PACS source (dicomweb+http://...), not to {source}")
        with one_writer(self.path, wait):
            return self._index(source, batch_size, progress, workers, ray_address, rehash, **pacs)

    def _index(self, source: str | Path, batch_size: int, progress: bool, workers: int | None,
               ray_address: str | None, rehash: bool, **pacs: Any) -> IndexSummary:
        if is_dicomweb_url(source):
            from .indexer.dicomweb import index_dicomweb
            summary = index_dicomweb(self.store, self.encoder, str(source), batch_size=batch_size, progress=progress,
                                     workers=workers, **pacs)
        else:
            summary = index_files(self.store, self.encoder, source, batch_size=batch_size, progress=progress,
                                  workers=workers, ray_address=ray_address, rehash=rehash)
        if summary.added:
            summary.predicted = {name: n for name, n in self.heads.update_stored().items() if n}
        record_run(self.store, source, summary)
        return summary

    def remove(self, paths: Iterable[str | Path] = (), missing: bool = False) -> dict[str, int]:
        """Remove the images of files or folders (and with `missing`, of every file that is gone)."""
        with one_writer(self.path):
            return remove_files(self.store, paths, missing=missing).counts()

    def rebuild(self) -> dict[str, int]:
        """Re-create the vector indexes from the catalog's stored embeddings (no encoder run)."""
        with one_writer(self.path):
            return self.store.rebuild_vectors()

    def set_memory_budget(self, size: str) -> None:
        """Record the RAM the vector indexes may take ("16G", "512M", "" for half the machine's). An "auto" index
        whose codes no longer fit is rebuilt from the catalog, compressed, when it is next loaded."""
        budget_bytes(size)  # ValueError naming the value when it is not a size
        self.store.config.memory_budget = size.strip()
        write_config(self.store.root, self.store.config)

    def set_precision(self, precision: str) -> None:
        """Record how the encoder runs when this library embeds: "auto" (bf16 where the hardware has it), "fp32",
        "bf16" or "int8" (models.runtime). Stored vectors stay as they are; docs/benchmarks.md has what each costs."""
        check_precision(precision)  # ValueError naming the choices
        if precision == self.store.config.precision:
            return
        self.store.config.precision = precision
        write_config(self.store.root, self.store.config)
        if self._encoder is not None and getattr(self._encoder, "precision", "fp32") == "int8":
            self._encoder = None  # quantised in place: the next use loads the model again
        elif self._encoder is not None:
            self._apply_precision(self._encoder)

    def check(self, progress: bool = False) -> CheckReport:
        """Whether the library is whole (storage.integrity; `check_library` checks one that cannot open)."""
        return check_library(self.path, progress=progress)

    def repair(self) -> RepairSummary:
        """Rebuild what derives from the catalog (storage.repair; `repair_library` needs no opened library)."""
        return repair_library(self.path)

    # -- facts ---------------------------------------------------------------------------------------
    def image(self, image_id: int) -> ImageRecord:
        """One indexed image: its file, frame, study, metadata, labels and report."""
        try:
            return self.store.catalog.image(int(image_id))
        except KeyError:
            raise KeyError(f"no image with id {image_id} in {self.path}") from None

    def images(self, image_ids: Sequence[int]) -> dict[int, ImageRecord]:
        """Several indexed images by id in one catalog query; ids no longer indexed are absent."""
        return self.store.catalog.get([int(i) for i in image_ids]) if image_ids else {}

    def header(self, image_id: int) -> dict[str, Any]:
        """The stored DICOM header (DICOM JSON, without pixels or identities); {} for non-DICOM images."""
        try:
            return self.store.catalog.header(int(image_id))
        except KeyError:
            raise KeyError(f"no image with id {image_id} in {self.path}") from None

    def viewer_url(self, metadata: dict[str, Any]) -> str | None:
        """An image's link into the site's DICOM viewer (search.viewer), or None where there is none."""
        return viewer_url(viewer_template(self.store.config.viewer_url), metadata)

    def key_objects(self, query: str | Path | bytes, hits: Sequence[Any], description: str = "") -> Any:
        """A DICOM Key Object Selection (a pydicom Dataset) in the query's study that references the query and
        the hits' DICOM instances (pacs.kos), to store in the PACS beside the study being read."""
        from io import BytesIO

        import pydicom
        from pydicom.errors import InvalidDicomError

        from .pacs.kos import similar_cases_kos
        try:
            source = BytesIO(query) if isinstance(query, (bytes, bytearray)) else query
            current = pydicom.dcmread(source, stop_before_pixels=True)
        except (InvalidDicomError, OSError) as e:
            raise ValueError(f"a KOS needs the query as a DICOM file of the study being read ({e})") from None
        ids: list[int] = []
        for hit in hits:
            for one in getattr(hit, "hits", [hit]):  # a study or patient group: each of its images
                if one.id not in ids:
                    ids.append(one.id)
        cases, seen = [], set()
        for image_id in ids:
            stored = self.header(image_id)
            header = pydicom.Dataset.from_json(stored) if stored else pydicom.Dataset()
            if header.get("SOPInstanceUID") and header.SOPInstanceUID not in seen:  # frames share their instance
                seen.add(header.SOPInstanceUID)
                cases.append(header)
        return similar_cases_kos(current, cases, description)

    def thumbnail(self, image_id: int) -> Path | None:
        """The preview PNG of an indexed image, or None when it has none (yet)."""
        path = self.store.paths.thumbnail(int(image_id))
        return path if path.is_file() else None

    def first_image_of(self, study_key: str) -> int | None:
        """The id of a study's first image (a cited case's picture), or None."""
        return self.store.catalog.first_image_of(study_key)

    def study_images(self, study_key: str) -> list[ImageRecord]:
        """A study's images (all its views) with metadata, labels and the study's report, in index order."""
        ids = self.store.catalog.images_of_study(study_key)
        rows = self.store.catalog.get(ids)
        return [rows[i] for i in ids if i in rows]

    def patient_studies(self, patient_id: str | None) -> list[dict[str, Any]]:
        """The studies the library holds of a patient (pseudonymised id as results carry it), oldest first:
        study_key, study_date, images, first_image."""
        return self.store.catalog.studies_of_patient(patient_id) if patient_id else []

    @staticmethod
    def report_findings(text: str | None) -> list[Finding]:
        """The findings a report states or rules out, each with its status and side (datasets.report_reading)."""
        return list(read_report(text or "").findings)

    def find_dicom(self, study_uid: str | None = None, sop_uid: str | None = None) -> list[int]:
        """The ids of the indexed images of a DICOM instance (SOP Instance UID) or study (Study Instance UID)."""
        if sop_uid:
            return self.store.catalog.images_of_instance(sop_uid)
        return self.store.catalog.images_of_study_uid(study_uid) if study_uid else []

    def find_file(self, path: str | Path) -> int | None:
        """The id of an indexed file's image (its first frame), found by its content; None when not indexed."""
        return self.store.catalog.image_by_hash(content_hash(path))

    def pseudonym(self, identifier: object) -> str | None:
        """What the catalog stores for a patient ID or accession number of this library."""
        return self.store.pseudonymise(identifier)

    def count(self, kind: str = "images") -> int:
        return self.store.catalog.count(kind)

    def stats(self) -> dict[str, Any]:
        counts = self.store.counts()
        return {"images": counts["images"], "reports": counts["reports"], "report_sentences": counts["sentences"],
                "model_id": self.store.config.model_id, "index": self.store.config.index_spec,
                "body_parts": self.store.catalog.distinct("body_part"), "views": self.store.catalog.distinct("view")}

    @staticmethod
    def filter_columns() -> list[Column]:
        """The metadata columns a front end offers as filters, in the registry's order (radsearch.columns)."""
        return [column for column in COLUMNS if column.filterable and column.ui]

    def filter_choices(self, column: str) -> list[str]:
        """The values a filter on `column` can take here (labels included), for pickers."""
        if column == "labels":
            return sorted(self.store.catalog.value_counts("labels"))
        return self.store.catalog.distinct(column)

    def audit_log(self, limit: int = 100, user: str | None = None, since: str | None = None) -> list[AuditRecord]:
        """The latest searches, newest first (radsearch.search.audit)."""
        return self.store.catalog.audit_log(limit, user=user, since=since)

    def overview(self) -> dict[str, Any]:
        """What the library holds and how it was built: counts by body part, view, label and split, the
        model and index types, heads, the latest indexing runs and unreadable files (the UI's Library page)."""
        catalog = self.store.catalog
        return self.stats() | {
            "counts": {column: catalog.value_counts(column) for column in OVERVIEW_COUNTS},
            "index_types": {kind: self.store.index_spec(kind) for kind in ("images", "reports", "sentences")},
            "model": {"path": str(self.store.model_path), "training": self.encoder.info,
                      "profile": self.encoder.profile.to_dict()},
            "heads": [head.summary() for head in self.heads.list()],
            "runs": [asdict(run) for run in catalog.runs()],
            "failures": [asdict(failure) for failure in catalog.failures()]}


def set_threads(threads: int | str) -> int:
    """Size torch's and FAISS's thread teams in this process: a number, or a role of radsearch.threads
    ("serve", "index", "train"). Returns the count. Front ends call it at start; a script running next
    to another heavy process should too."""
    count = threads_for(threads) if isinstance(threads, str) else max(1, int(threads))
    set_encoder_threads(count)
    set_vector_threads(count)
    return count


def open_library(path: str | Path) -> Library:
    """Open a library directory; it needs nothing but its own radsearch.toml and files."""
    return Library(LibraryStore.open(path))


def create_library(path: str | Path, model_dir: str | Path, keep_identifiers: bool = False,
                   database_url: str | None = None) -> Library:
    """A new, empty library around a model: the model is copied into LIB/model, the catalog made (SQLite
    inside the library, or a PostgreSQL database: storage.database.new_library_url)."""
    path = Path(path)
    if (path / CONFIG_FILE).is_file():
        raise LibraryMismatch(f"{path} is a library already; open it with radsearch.open_library")
    encoder = load_encoder(model_dir)
    url = prepare_database(new_library_url(path, database_url))  # before any file: a bad URL leaves nothing
    path.mkdir(parents=True, exist_ok=True)
    target = path / "model"
    if Path(model_dir).resolve() != target.resolve():
        shutil.copytree(model_dir, target, dirs_exist_ok=True)  # the library carries its own model
    config = LibraryConfig(model_id=encoder.model_id, embed_dim=encoder.embed_dim, profile=encoder.profile.to_dict(),
                           keep_identifiers=bool(keep_identifiers), database_url=url)
    return Library(LibraryStore.create(path, config), encoder)


def open_or_create(path: str | Path, model_dir: str | Path | None = None, keep_identifiers: bool | None = None,
                   database_url: str | None = None) -> Library:
    """Open an existing library (checking that `model_dir`, when given, is its model) or create one around it.

    keep_identifiers and database_url are chosen when a library is created and fixed afterwards; asking an
    existing library for other ones is refused with the reason.
    """
    path = Path(path)
    if not (path / CONFIG_FILE).is_file():
        if model_dir is None:
            raise ModelDirError(f"{path} is a new library: give the model to index with (--model MODEL_DIR)")
        return create_library(path, model_dir, bool(keep_identifiers), database_url)
    store = LibraryStore.open(path)
    if database_url and parse(database_url) != parse(store.database_url):
        raise LibraryMismatch(f"library {path} keeps its catalog at {safe(store.database_url)}; "
                              "the database is chosen when a library is created")
    if keep_identifiers is not None and keep_identifiers != store.config.keep_identifiers:
        stored = "real identifiers" if store.config.keep_identifiers else "pseudonyms"
        raise LibraryMismatch(f"library {path} stores {stored}; that is fixed when a library is created, "
                              "so index into a new library to change it")
    return Library(store, load_encoder(model_dir) if model_dir is not None else None)


def index(source: str | Path, library: str | Path, model_dir: str | Path | None = None,
          keep_identifiers: bool | None = None, database_url: str | None = None, **options: Any) -> IndexSummary:
    """Index `source` into `library` (created around `model_dir` if new): `open_or_create(...).index(source)`.
    options: batch_size, progress, workers, ray_address, rehash (Library.index)."""
    return open_or_create(library, model_dir, keep_identifiers, database_url).index(source, **options)
