"""VinDr-CXR 1.0 (PhysioNet): ROOT/annotations/image_labels_{train,test}.csv, ROOT/{train,test}/<id>.dicom.

Each training image was read by three radiologists (one row each), test images by a consensus of
five (one row): a label is kept when at least half of an image's rows mark it. The dataset does
not link images of the same patient, so each image is its own patient and study.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from ..manifest import ManifestRecord
from ..vocabulary import canonical_labels
from .common import find_file, positive, read_csv

NAME = "VinDr-CXR"
NOT_LABELS = {"image_id", "rad_id"}


def records(root: Path, reports: Path | None = None) -> Iterator[ManifestRecord]:
    find_file(root, NAME, "annotations/image_labels_train.csv", "annotations/image_labels_test.csv")
    for split in ("train", "test"):
        table = root / "annotations" / f"image_labels_{split}.csv"
        if not table.is_file():
            continue
        votes: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        readers: dict[str, int] = defaultdict(int)
        for row in read_csv(table):
            readers[row["image_id"]] += 1
            for name, value in row.items():
                if name not in NOT_LABELS and positive(value):
                    votes[row["image_id"]][name] += 1
        for image_id, count in readers.items():
            kept = [name for name, n in votes[image_id].items() if 2 * n >= count]
            yield ManifestRecord(
                path=str(root / split / f"{image_id}.dicom"), patient_id=f"vindr-cxr:{image_id}",
                study_id=f"vindr-cxr:{image_id}", body_part="CHEST", labels=canonical_labels(kept), split=split)
