"""Importers: each public dataset's own layout turned into the manifest (`radsearch import FORMAT ROOT`).

Every importer yields `ManifestRecord`s with absolute paths, patient and study ids prefixed by the
dataset's name (so two datasets in one library never share a study), and labels, views, splits and
sex in the shared vocabulary (datasets.vocabulary). Images the tables list but the disk lacks are
left out and counted, so a partial download still imports.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ...errors import ManifestError
from ..manifest import ManifestRecord, write_manifest
from . import chexpert, mimic_cxr, mura, nih_cxr14, openi, padchest, vindr_cxr

log = logging.getLogger(__name__)

Importer = Callable[..., Iterator[ManifestRecord]]
IMPORTERS: dict[str, Importer] = {
    "mimic-cxr-jpg": mimic_cxr.records,
    "chexpert": chexpert.records,
    "nih-cxr14": nih_cxr14.records,
    "padchest": padchest.records,
    "vindr-cxr": vindr_cxr.records,
    "mura": mura.records,
    "openi": openi.records,
}


@dataclass
class ImportSummary:
    written: int
    missing: int  # listed by the dataset's tables, absent from disk
    manifest: Path

    def __str__(self) -> str:
        text = f"wrote {self.written} images to {self.manifest}"
        return text + (f"; {self.missing} listed images are not on disk and were left out" if self.missing else "")


def import_records(name: str, root: str | Path, reports: str | Path | None = None) -> Iterator[ManifestRecord]:
    """Manifest records for the dataset `name` stored at `root` (images not on disk included)."""
    if name not in IMPORTERS:
        raise ManifestError(f"unknown dataset format {name!r}; known formats: {', '.join(sorted(IMPORTERS))}")
    root = Path(root)
    if not root.is_dir():
        raise ManifestError(f"{root} is not a folder; give the folder the {name} dataset was extracted into")
    return IMPORTERS[name](root.resolve(), Path(reports).resolve() if reports else None)


def import_dataset(name: str, root: str | Path, out: str | Path, reports: str | Path | None = None) -> ImportSummary:
    """Write the manifest of dataset `name` at `root` to `out`, leaving out images not on disk."""
    kept, missing = [], 0
    for record in import_records(name, root, reports):
        if Path(record.path).is_file():
            kept.append(record)
        else:
            missing += 1
            log.debug("%s: listed but not on disk", record.path)
    if not kept:
        raise ManifestError(f"none of the images {name} lists were found under {root}; check the folder")
    write_manifest(kept, out)
    return ImportSummary(written=len(kept), missing=missing, manifest=Path(out))
