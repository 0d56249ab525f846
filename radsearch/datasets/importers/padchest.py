"""PadChest (BIMCV): ROOT/PADCHEST_chest_x_ray_images_labels_160K_01.02.19.csv and ROOT/<ImageDir>/<ImageID>.

Reports are the dataset's Spanish report text; labels are its (English) label list. Age is the
study year minus the birth year. PadChest has no official split.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from ..manifest import ManifestRecord
from ..vocabulary import canonical_labels, canonical_sex, canonical_view
from .common import files_by_name, find_file, iso_date, read_csv

NAME = "PadChest"


def records(root: Path, reports: Path | None = None) -> Iterator[ManifestRecord]:
    table = find_file(root, NAME, "PADCHEST_chest_x_ray_images_labels_*.csv*")
    flat: dict[str, Path] | None = None
    for row in read_csv(table):
        image = root / row.get("ImageDir", "").split(".")[0] / row["ImageID"]
        if not image.is_file():  # some copies are not split into numbered folders
            flat = flat if flat is not None else files_by_name(root, ".png")
            image = flat.get(row["ImageID"], image)
        date = iso_date(row.get("StudyDate_DICOM", ""))
        yield ManifestRecord(
            path=str(image), patient_id=f"padchest:{row['PatientID']}", study_id=f"padchest:{row['StudyID']}",
            view=canonical_view(row.get("Projection", "")), body_part="CHEST",
            labels=canonical_labels(_labels(row.get("Labels", ""))), report=(row.get("Report") or "").strip(),
            sex=canonical_sex(row.get("PatientSex_DICOM", "")), age=_age(date, row.get("PatientBirth", "")),
            study_date=date)


def _labels(cell: str) -> list[str]:
    """"['pleural effusion', 'cardiomegaly']" -> the list; anything else -> []."""
    try:
        value = ast.literal_eval(cell) if cell and cell.strip() else []
    except (ValueError, SyntaxError):
        return []
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else []


def _age(iso: str, birth_year: str) -> str:
    try:
        return str(int(iso[:4]) - int(float(birth_year)))
    except ValueError:
        return ""
