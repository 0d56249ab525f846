"""MIMIC-CXR-JPG 2.x (PhysioNet), with the free-text reports of MIMIC-CXR.

Layout: ROOT/mimic-cxr-2.0.0-metadata.csv(.gz), -split.csv(.gz), -chexpert.csv(.gz) and
ROOT/files/p10/p10000032/s50414267/<dicom_id>.jpg. Reports (mimic-cxr-reports.zip, extracted) sit at
files/p10/p10000032/s50414267.txt, under ROOT or under the folder given as `reports`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..manifest import ManifestRecord
from ..vocabulary import canonical_labels, canonical_split, canonical_view
from .common import find_file, iso_date, positive, read_csv

NAME = "MIMIC-CXR-JPG"
LABEL_COLUMNS_SKIP = {"subject_id", "study_id"}


def records(root: Path, reports: Path | None = None) -> Iterator[ManifestRecord]:
    metadata = find_file(root, NAME, "mimic-cxr-2.0.0-metadata.csv*", "*metadata.csv*")
    splits = {row["dicom_id"]: row["split"] for row in read_csv(find_file(root, NAME, "*split.csv*"))}
    labels: dict[str, list[str]] = {}
    for chexpert in root.glob("*chexpert.csv*"):
        for row in read_csv(chexpert):
            names = [k for k, v in row.items() if k not in LABEL_COLUMNS_SKIP and positive(v)]
            labels[row["study_id"]] = canonical_labels(names)
    report_roots = [r for r in (reports, root) if r is not None]
    texts: dict[str, str] = {}  # study -> report; a study's images share one
    for row in read_csv(metadata):
        subject, study = row["subject_id"], row["study_id"]
        folder = Path("files") / f"p{subject[:2]}" / f"p{subject}"
        if study not in texts:
            texts[study] = _report(report_roots, folder / f"s{study}.txt")
        yield ManifestRecord(
            path=str(root / folder / f"s{study}" / f"{row['dicom_id']}.jpg"),
            patient_id=f"mimic-cxr:{subject}", study_id=f"mimic-cxr:{study}",
            view=canonical_view(row.get("ViewPosition", "")), body_part="CHEST", labels=labels.get(study, []),
            report=texts[study],
            split=canonical_split(splits.get(row["dicom_id"], "")), study_date=iso_date(row.get("StudyDate", "")))


def _report(roots: list[Path], relative: Path) -> str:
    for base in roots:
        for candidate in (base / relative, base / "reports" / relative):
            if candidate.is_file():
                return candidate.read_text(encoding="utf-8", errors="replace").strip()
    return ""
