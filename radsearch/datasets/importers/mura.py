"""MURA v1.1 (Stanford): ROOT/{train,valid}_image_paths.csv and {train,valid}_labeled_studies.csv.

Paths start with the dataset folder (MURA-v1.1/train/XR_SHOULDER/patient00001/study1_positive/image1.png);
a study labelled 1 is abnormal, so each of its images gets the label `abnormal`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..manifest import ManifestRecord
from .common import find_file, read_csv, resolve

NAME = "MURA"


def records(root: Path, reports: Path | None = None) -> Iterator[ManifestRecord]:
    find_file(root, NAME, "train_image_paths.csv", "valid_image_paths.csv")
    for split, prefix in (("train", "train"), ("val", "valid")):
        paths, studies = root / f"{prefix}_image_paths.csv", root / f"{prefix}_labeled_studies.csv"
        if not paths.is_file():
            continue
        abnormal = {}
        if studies.is_file():
            abnormal = {row[0].rstrip("/"): row[1].strip() == "1" for row in read_csv(studies, header=False) if row}
        for row in read_csv(paths, header=False):
            if not row:
                continue
            listed = row[0].strip()
            parts = Path(listed).parts  # (..., XR_SHOULDER, patient00001, study1_positive, image1.png)
            body, patient, study = parts[-4], parts[-3], parts[-2]
            study_dir = str(Path(listed).parent)
            is_abnormal = abnormal.get(study_dir, study.endswith("_positive"))
            yield ManifestRecord(
                path=str(resolve(root, listed)), patient_id=f"mura:{patient}",
                study_id=f"mura:{body}/{patient}/{study.split('_')[0]}",
                body_part=body.removeprefix("XR_"), labels=["abnormal"] if is_abnormal else [], split=split)
