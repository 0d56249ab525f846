"""NIH ChestX-ray14: ROOT/Data_Entry_2017*.csv, PNGs in ROOT/images*/ (any depth), split lists.

"Finding Labels" holds labels joined by '|' ("No Finding" for none); an image name is
<patient>_<follow-up>.png, one follow-up being one study.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..manifest import ManifestRecord
from ..vocabulary import canonical_labels, canonical_sex, canonical_view
from .common import files_by_name, find_file, read_csv

NAME = "NIH ChestX-ray14"


def records(root: Path, reports: Path | None = None) -> Iterator[ManifestRecord]:
    entries = find_file(root, NAME, "Data_Entry_2017*.csv")
    split_of = {}
    for split, name in (("train", "train_val_list.txt"), ("test", "test_list.txt")):
        if (root / name).is_file():
            split_of.update({line.strip(): split for line in (root / name).read_text().splitlines() if line.strip()})
    images = files_by_name(root, ".png")
    for row in read_csv(entries):
        name = row["Image Index"]
        patient = row["Patient ID"].strip()
        follow_up = name.rsplit("_", 1)[-1].split(".")[0]
        age = "".join(ch for ch in row.get("Patient Age", "") if ch.isdigit()).lstrip("0") or ""
        yield ManifestRecord(
            path=str(images.get(name, root / "images" / name)), patient_id=f"nih-cxr14:{patient}",
            study_id=f"nih-cxr14:{patient}/{follow_up}", view=canonical_view(row.get("View Position", "")),
            body_part="CHEST", labels=canonical_labels(row["Finding Labels"].split("|")),
            split=split_of.get(name, ""), sex=canonical_sex(row.get("Patient Gender", "")), age=age)
