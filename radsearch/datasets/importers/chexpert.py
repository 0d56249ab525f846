"""CheXpert v1.0 (Stanford), full or "small": ROOT/train.csv and ROOT/valid.csv.

CSV paths start with the dataset folder (CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg).
Label cells are 1 (positive), 0, -1 (uncertain) or blank; only 1 becomes a label.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..manifest import ManifestRecord
from ..vocabulary import canonical_labels, canonical_sex, canonical_view
from .common import find_file, positive, read_csv, resolve

NAME = "CheXpert"
NOT_LABELS = {"Path", "Sex", "Age", "Frontal/Lateral", "AP/PA"}


def records(root: Path, reports: Path | None = None) -> Iterator[ManifestRecord]:
    find_file(root, NAME, "train.csv", "valid.csv")
    for split, name in (("train", "train.csv"), ("val", "valid.csv"), ("test", "test.csv")):
        if not (root / name).is_file():
            continue
        for row in read_csv(root / name):
            parts = Path(row["Path"]).parts  # (..., patientNNNNN, studyN, viewN_frontal.jpg)
            patient, study = parts[-3], parts[-2]
            lateral = row.get("Frontal/Lateral", "").strip().lower() == "lateral"
            yield ManifestRecord(
                path=str(resolve(root, row["Path"])), patient_id=f"chexpert:{patient}",
                study_id=f"chexpert:{patient}/{study}",
                view="LAT" if lateral else canonical_view(row.get("AP/PA", "")), body_part="CHEST",
                labels=canonical_labels(k for k, v in row.items() if k not in NOT_LABELS and positive(v)),
                split=split, sex=canonical_sex(row.get("Sex", "")), age=(row.get("Age") or "").strip())
