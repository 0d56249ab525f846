"""Curation findings as CSV rows: one format per check, each with image_id, path and a suggested action."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .duplicates import DuplicateGroup

COLUMNS = {
    "duplicates": ("group", "kind", "action", "image_id", "path", "score", "patient_id", "study_key", "split"),
    "leakage": ("kind", "action", "image_id", "path", "split", "leaks_into", "patient_id", "reason"),
    "outliers": ("problem", "action", "image_id", "path", "score", "stored", "suggested", "reason"),
    "label-noise": ("action", "image_id", "path", "label", "stored", "suggested", "confidence", "source", "reason"),
    "map": ("image_id", "path", "x", "y", "cluster", "body_part", "labels"),
}


def duplicate_rows(groups: Sequence[DuplicateGroup]) -> list[dict[str, Any]]:
    """One row per member; the keeper's action is keep, the others' drop."""
    return [{"group": n, "kind": g.kind, "action": "keep" if m is g.keeper else "drop", **m}
            for n, g in enumerate(groups, start=1) for m in g.members]


def rows_csv(check: str, rows: Sequence[dict[str, Any]]) -> str:
    """A check's rows as CSV text with its columns (what `radsearch curate` writes and the UI downloads)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS[check], extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: "" if row.get(k) is None else row.get(k) for k in COLUMNS[check]} for row in rows)
    return buffer.getvalue()


def write_rows(check: str, rows: Sequence[dict[str, Any]], out: str | Path) -> Path:
    """Write a check's rows as CSV (atomically: a partial report never looks complete)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(rows_csv(check, rows), encoding="utf-8")
    tmp.replace(out)
    return out
