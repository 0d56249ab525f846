"""`radsearch check`: is a library whole? Catalog readable, one vector per row in each FAISS index,
the model the vectors were made with, no orphan or half-written files.

Each problem says whether `radsearch repair` can mend it (derived data: FAISS indexes, thumbnails,
leftovers of killed writes) or what the user must do (the catalog and the model are not derivable).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from tqdm import tqdm

from ..errors import RadsearchError
from ..files import MODEL_META_FILE, LibraryPaths, is_temporary, weights_hash
from .schema import KINDS
from .store import LibraryStore

log = logging.getLogger(__name__)

VECTOR_TOLERANCE = 1e-4  # largest difference between a stored embedding and its FAISS copy (Flat indexes)
REPAIR = "run `radsearch repair --library {root}`"


@dataclass
class Problem:
    """One thing wrong with a library, and how to mend it."""

    what: str
    fix: str
    repairable: bool  # True when `radsearch repair` mends it from the catalog

    def __str__(self) -> str:
        return f"{self.what}: {self.fix}"


@dataclass
class CheckReport:
    """What `check_library` looked at and the problems it found (none: the library is whole)."""

    root: Path
    counts: dict[str, int] = field(default_factory=dict)  # catalog rows per kind
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        counts = ", ".join(f"{n} {kind}" for kind, n in self.counts.items())
        if self.ok:
            return f"{self.root}: ok ({counts}; every row has its vector, the model matches, no orphan files)"
        lines = [f"{self.root}: {len(self.problems)} problem{'s' if len(self.problems) > 1 else ''}"
                 + (f" ({counts})" if counts else "")]
        return "\n".join(lines + [f"  - {p}" for p in self.problems])


def check_library(root: str | Path, progress: bool = False) -> CheckReport:
    """Verify a library; raises only when its radsearch.toml cannot be read (nothing else can be checked)."""
    store = LibraryStore.open(root)
    report = CheckReport(store.root)
    repair = REPAIR.format(root=store.root)
    try:
        report.counts = store.counts()
        _check_catalog(store, report)
    except RadsearchError as e:  # a damaged or unreachable catalog: nothing else can be compared with it
        report.problems.append(Problem("catalog", str(e), repairable=False))
        return report
    for kind in KINDS:
        _check_vectors(store, kind, report, repair)
    _check_model(store, report)
    _check_files(store, report, repair, progress)
    return report


def _check_catalog(store: LibraryStore, report: CheckReport) -> None:
    """The database's own integrity check, and embeddings of the library's width."""
    verdict = store.catalog.integrity_problems()
    if verdict:
        report.problems.append(Problem(
            f"catalog {store.paths.catalog} fails SQLite's integrity check ({'; '.join(verdict[:3])})",
            "restore it from a backup; it is the library's source of truth", repairable=False))
    for kind in KINDS:
        bad = store.catalog.wrong_width(kind, store.config.embed_dim)
        if bad:
            report.problems.append(Problem(
                f"{bad} {kind} rows hold embeddings that are not {store.config.embed_dim}-d float32",
                "restore the catalog from a backup, or remove those images and index them again",
                repairable=False))


def _check_vectors(store: LibraryStore, kind: str, report: CheckReport, repair: str) -> None:
    """The index file holds exactly the catalog's ids, and (indexes that keep vectors) the catalog's vectors."""
    path = store.vector_path(kind)
    rows = report.counts.get(kind, 0)
    if not path.is_file():
        if rows:
            report.problems.append(Problem(f"{path} is missing ({rows} {kind} rows in the catalog)", repair, True))
        return
    try:
        index = store.backend.load(path, store.config.embed_dim, store.index_spec(kind))
    except RadsearchError as e:
        report.problems.append(Problem(str(e).split(";")[0], repair, True))
        return
    if index.ntotal != rows:
        report.problems.append(Problem(f"{path} holds {index.ntotal} vectors, the catalog {rows} {kind} rows",
                                       repair, True))
        return
    in_faiss, in_sql = np.sort(index.ids()), np.sort(store.catalog.ids(kind))
    if not np.array_equal(in_faiss, in_sql):
        differ = len(np.setxor1d(in_faiss, in_sql))
        report.problems.append(Problem(f"{path}: {differ} ids differ from the catalog's {kind}", repair, True))
        return
    stored = index.stored_vectors() if rows else None
    if stored is not None:
        ids, vectors = stored
        _, expected = store.catalog.embeddings(kind, None, store.config.embed_dim)  # ordered by id
        worst = float(np.abs(vectors[np.argsort(ids)] - expected).max())
        if worst > VECTOR_TOLERANCE:
            report.problems.append(Problem(f"{path}: vectors differ from the catalog's (by up to {worst:.3g})",
                                           repair, True))


def _check_model(store: LibraryStore, report: CheckReport) -> None:
    """The library's model directory holds the weights its vectors were made with."""
    model = store.model_path
    meta = model / MODEL_META_FILE
    if not meta.is_file():
        report.problems.append(Problem(f"model directory {model} is missing or not a radsearch model",
                                       f"restore the model the library was indexed with (id {store.config.model_id})",
                                       repairable=False))
        return
    actual = weights_hash(model)
    recorded = json.loads(meta.read_text()).get("model_id", "")
    if actual != store.config.model_id or recorded != store.config.model_id:
        report.problems.append(Problem(
            f"model {model} has weights {actual} (its metadata says {recorded or 'nothing'}), the library's vectors "
            f"were made with {store.config.model_id}",
            "restore that model, or index the archive into a new library with this one", repairable=False))


def _check_files(store: LibraryStore, report: CheckReport, repair: str, progress: bool) -> None:
    """Leftovers of killed writes, unknown files among the indexes, thumbnails missing, orphaned or unreadable."""
    known = {store.vector_path(kind).name for kind in KINDS}
    for path in sorted(store.paths.vectors.glob("*")) if store.paths.vectors.is_dir() else []:
        if is_temporary(path):
            report.problems.append(Problem(f"{path} is the leftover of an interrupted write", repair, True))
        elif path.name not in known:
            report.problems.append(Problem(f"{path} is not a file radsearch writes",
                                           "move it out of the library if it is yours", repairable=False))
    ids = set(store.catalog.ids("images").tolist())
    thumbs = store.paths.thumbs
    found: set[int] = set()
    leftovers, strangers, orphans, unreadable = [], [], [], []
    files = sorted(thumbs.iterdir()) if thumbs.is_dir() else []
    for path in tqdm(files, desc="check thumbnails", unit="file", disable=not progress):
        image_id = LibraryPaths.thumbnail_id(path)
        if image_id is None:
            (leftovers if is_temporary(path) else strangers).append(path.name)
        elif image_id not in ids:
            orphans.append(path.name)
        else:
            found.add(image_id)
            try:
                with PILImage.open(path) as image:
                    image.verify()
            except (OSError, SyntaxError, ValueError):
                unreadable.append(path.name)
    for names, what in ((leftovers, "leftovers of interrupted writes"), (strangers, "files that are not thumbnails"),
                        (orphans, "thumbnails of no image in the catalog"), (unreadable, "unreadable thumbnails")):
        if names:
            examples = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
            if names is strangers:
                report.problems.append(Problem(f"{len(names)} {what} in {thumbs} ({examples})",
                                               "move them out of the library if they are yours", repairable=False))
            else:
                report.problems.append(Problem(f"{len(names)} {what} in {thumbs} ({examples})", repair, True))
    lacking = len(ids - found)
    if lacking:
        report.problems.append(Problem(f"{lacking} images have no thumbnail in {thumbs}", repair, True))
