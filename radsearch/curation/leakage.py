"""Leakage between splits: the same patient, the same file or a near-identical image in train and in a
held-out split, which makes a test score measure memory instead of skill."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..datasets.manifest import read_manifest
from ..storage import LibraryStore
from .duplicates import DuplicateGroup

HELD_OUT_ORDER = ("test", "val")  # a leak is cut from train: the held-out split is what results are quoted on


def split_overrides(store: LibraryStore, manifest: str | Path) -> dict[str, tuple[str, str | None]]:
    """Path -> (split, patient pseudonym) from a manifest, for checking a split other than the indexed one."""
    return {str(Path(r.path).resolve()): (r.split, store.pseudonymise(r.patient_id) if r.patient_id else None)
            for r in read_manifest(manifest)}


def find_leakage(store: LibraryStore, groups: list[DuplicateGroup],
                 overrides: dict[str, tuple[str, str | None]] | None = None) -> list[dict[str, Any]]:
    """Rows, one per image or file to cut: kind (patient | exact | near), its split, what it leaks into.

    The suggested action drops the copy outside the held-out split, so test and val stay as they are.
    """
    images = [{"image_id": r["id"], "path": r["path"], "patient_id": r["patient_id"], "split": r["split"]}
              for r in store.catalog.values(["patient_id", "split"])]
    if overrides is not None:
        images = [_override(row, overrides) for row in images if row["path"] in overrides]
    rows: list[dict[str, Any]] = []
    by_patient: dict[str, list[dict[str, Any]]] = {}
    for row in images:
        if row["patient_id"] and row["split"]:
            by_patient.setdefault(row["patient_id"], []).append(row)
    for patient, members in sorted(by_patient.items()):
        splits = {m["split"] for m in members}
        if len(splits) > 1:
            rows += _cut(members, "patient", f"patient {patient} is in {', '.join(sorted(splits))}")
    for group in groups:
        members = [_override(dict(m), overrides) if overrides is not None else dict(m) for m in group.members]
        if overrides is not None:
            members = [m for m in members if m["path"] in overrides]
        splits = {m["split"] for m in members if m["split"]}
        if len(splits) > 1:
            rows += _cut(members, group.kind, f"{group.kind} duplicate of {group.keeper['path']} in "
                                              f"{', '.join(sorted(splits))}")
    unique: dict[tuple, dict[str, Any]] = {}
    for row in rows:  # an image leaking both ways is listed once, with every reason
        key = (row["image_id"], row["path"])
        if key in unique:
            unique[key]["kind"] += f"+{row['kind']}"
            unique[key]["reason"] += f"; {row['reason']}"
        else:
            unique[key] = row
    return list(unique.values())


def _override(row: dict[str, Any], overrides: dict[str, tuple[str, str | None]] | None) -> dict[str, Any]:
    if overrides and row["path"] in overrides:
        split, patient = overrides[row["path"]]
        row = row | {"split": split or None, "patient_id": patient or row.get("patient_id")}
    return row


def _cut(members: list[dict[str, Any]], kind: str, reason: str) -> list[dict[str, Any]]:
    """The members outside the held-out split that the others leak into."""
    splits = {m["split"] for m in members if m["split"]}
    held = next((s for s in HELD_OUT_ORDER if s in splits), sorted(splits)[-1])
    return [{"image_id": m.get("image_id"), "path": m["path"], "patient_id": m.get("patient_id"),
             "split": m["split"], "leaks_into": held, "kind": kind, "reason": reason, "action": "drop"}
            for m in members if m["split"] and m["split"] != held]
