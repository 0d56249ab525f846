"""Export the images a user keeps as a manifest: a filter, minus the images listed in curation reports."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from ..datasets.manifest import ManifestRecord, write_manifest
from ..errors import ManifestError
from ..storage import ImageRecord


def excluded_ids(reports: Iterable[str | Path]) -> set[int]:
    """Image ids a curation CSV asks to drop: every listed image unless its `action` says keep."""
    ids: set[int] = set()
    for report in reports:
        path = Path(report)
        if not path.is_file():
            raise ManifestError(f"exclusion list {path} does not exist")
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if "image_id" not in (reader.fieldnames or []):
                raise ManifestError(f"{path} has no image_id column; give a CSV written by `radsearch curate`")
            for row in reader:
                if (row.get("action") or "").strip().lower() == "keep" or not (row.get("image_id") or "").strip():
                    continue
                try:
                    ids.add(int(row["image_id"]))
                except ValueError as e:
                    raise ManifestError(f"{path}: image_id {row['image_id']!r} is not a number") from e
    return ids


def write_export(rows: dict[int, ImageRecord], out: str | Path) -> Path:
    """The manifest of these catalog rows (patients as the library stores them: pseudonyms by default)."""
    records = []
    seen: set[str] = set()
    for image_id in sorted(rows):
        row = rows[image_id]
        if row.path in seen:  # the frames of one multi-frame file are one manifest row
            continue
        seen.add(row.path)
        meta = row.metadata
        age = meta.get("age")
        records.append(ManifestRecord(
            path=row.path, patient_id=meta.get("patient_id") or "", study_id=row.study_key,
            view=meta.get("view") or "", body_part=meta.get("body_part") or "", labels=list(row.labels),
            report=row.report or "", split=meta.get("split") or "", sex=meta.get("sex") or "",
            age="" if age is None else f"{age:g}", study_date=meta.get("study_date") or "",
            laterality=meta.get("laterality") or ""))
    return write_manifest(records, out)
