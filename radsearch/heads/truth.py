"""What a head learns from: the catalog's stored embeddings beside a truth per image, and a held-out split.

Truth comes from the catalog's labels (multi-label findings), from an image column (body part,
view, sex, ... as classes), or from any column of a manifest CSV, joined to the images by path.
The held-out images are the library's val and test splits when it has them, otherwise a fixed
share of patients: never images of a patient the head was fitted on.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..columns import HEAD_COLUMNS
from ..errors import ManifestError
from ..storage import LibraryStore
from .calibration import patient_share
from .probe import NotEnoughExamples

COLUMN_HEADS = HEAD_COLUMNS  # the registry's categorical columns a head can learn (radsearch.columns)
HELDOUT_SHARE = 0.25  # patients held out when the library has no val/test split
MIN_CLASS_IMAGES = 6  # a class with fewer images is left out of a categorical head (too few to check)


@dataclass
class Truth:
    """Embeddings of the images with a known answer, the answers, and the split."""

    ids: np.ndarray  # (n,) image ids
    embeddings: np.ndarray  # (n, D)
    truth: np.ndarray  # (n, T) bool for binary heads; (n,) class index for categorical ones
    targets: list[str]
    task: str
    train: np.ndarray  # (n,) bool
    heldout: np.ndarray  # (n,) bool
    source: str
    population: dict[str, Any]
    patients: np.ndarray | None = None  # (n,) patient of each image (its id where unknown)


@dataclass(frozen=True)
class _Row:
    """An image a head may learn from: its id, path, patient, split and one column's value."""

    id: int
    path: str
    patient_id: str | None
    split: str | None
    value: str | None = None


def _rows(store: LibraryStore, where: dict | None, column: str | None = None) -> list[_Row]:
    extra = [column] if column and column not in ("patient_id", "split") else []
    flt = store.catalog.filter(where) if where else None
    return [_Row(r["id"], r["path"], r["patient_id"], r["split"], r[column] if column else None)
            for r in store.catalog.values(["patient_id", "split", *extra], flt)]


def label_truth(store: LibraryStore, labels: list[str] | None, where: dict | None) -> Truth:
    """Binary targets from the catalog's labels (all labels when None). Without a filter the images
    are those of the body parts where the labels occur: a chest finding is not learned from hands."""
    if where is None:
        parts = store.catalog.body_parts_labelled(labels)
        where = {"body_part": parts} if parts else None
    rows = _rows(store, where)
    found = store.catalog.labels_of([r.id for r in rows])
    targets = list(labels) if labels else sorted(set().union(*found.values())) if found else []
    missing = [t for t in targets if not any(t in names for names in found.values())]
    if not targets or missing:
        known = sorted(set().union(*found.values())) if found else []
        raise NotEnoughExamples(f"no indexed image carries the label {', '.join(missing) or '(any)'}; labels in "
                                f"this library: {', '.join(known) or 'none (index a manifest with labels)'}")
    truth = np.array([[t in found.get(r.id, ()) for t in targets] for r in rows], dtype=bool).reshape(len(rows), -1)
    return _finish(store, rows, truth, targets, "binary", "labels", where or {})


def column_truth(store: LibraryStore, column: str, where: dict | None) -> Truth:
    """Classes from an image column (body part, view, ...); images without a value are left out."""
    if column not in COLUMN_HEADS:
        raise ValueError(f"cannot train a head on column {column!r}; choose one of {', '.join(COLUMN_HEADS)}, "
                         "or give --manifest with any of its columns")
    rows = [r for r in _rows(store, where, column) if r.value not in (None, "")]
    return _categorical(store, rows, [str(r.value) for r in rows], f"column:{column}", where or {})


def manifest_truth(store: LibraryStore, manifest: str | Path, column: str, where: dict | None) -> Truth:
    """Classes from any column of a CSV with a `path` column, matched to indexed images by file path."""
    manifest = Path(manifest)
    try:
        with open(manifest, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or "path" not in reader.fieldnames or column not in reader.fieldnames:
                raise ManifestError(f"{manifest} needs a 'path' column and a {column!r} column; it has "
                                    f"{', '.join(reader.fieldnames or []) or 'no header'}")
            values = {_key(row["path"], manifest.parent): (row[column] or "").strip() for row in reader}
    except OSError as e:
        raise ManifestError(f"cannot read manifest {manifest}: {e}") from e
    rows = [r for r in _rows(store, where) if values.get(_key(r.path, manifest.parent))]
    return _categorical(store, rows, [values[_key(r.path, manifest.parent)] for r in rows],
                        f"manifest:{manifest.name}#{column}", where or {})


def _key(path: str, base: Path) -> str:
    p = Path(path)
    return str((p if p.is_absolute() else base / p).resolve())


def _categorical(store: LibraryStore, rows: list, values: list[str], source: str, where: dict) -> Truth:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    classes = sorted(v for v, n in counts.items() if n >= MIN_CLASS_IMAGES)
    if len(classes) < 2:
        raise NotEnoughExamples(f"{source}: a head needs at least two classes with {MIN_CLASS_IMAGES}+ images "
                                f"each; found {counts or 'no values'}")
    keep = [n for n, v in enumerate(values) if v in classes]
    index = {c: i for i, c in enumerate(classes)}
    truth = np.array([index[values[n]] for n in keep], dtype=np.int64)
    return _finish(store, [rows[n] for n in keep], truth, classes, "categorical", source, where)


def _finish(store: LibraryStore, rows: list, truth: np.ndarray, targets: list[str], task: str, source: str,
            where: dict) -> Truth:
    if not rows:
        raise NotEnoughExamples(f"no indexed images match {where or 'the library'} for this head")
    _, embeddings = store.catalog.embeddings("images", [r.id for r in rows], store.config.embed_dim)  # by id, as rows
    train, heldout = split(rows)
    return Truth(np.array([r.id for r in rows], dtype=np.int64), embeddings, truth, targets, task, train, heldout,
                 source, where, np.array([r.patient_id or f"image-{r.id}" for r in rows], dtype=object))


def split(rows: list) -> tuple[np.ndarray, np.ndarray]:
    """(train, held-out) masks: the library's splits when it has train and val/test, else by patient hash."""
    splits = np.array([r.split or "" for r in rows], dtype=object)
    train = splits == "train"
    heldout = np.isin(splits, ["val", "test"])
    if train.any() and heldout.any():
        return train, heldout
    held = np.array([patient_share(r.patient_id or f"image-{r.id}") < HELDOUT_SHARE for r in rows])
    return ~held, held
