"""Plant known curation problems in a synthetic archive, with the truth written beside it.

For checking curation: exact copies, near copies (re-encoded, resized, slightly cropped), patients
leaked across splits, images filed under the wrong body part, flipped labels (the report keeps the
truth), and inverted, badly windowed and text-stamped images. Deterministic by seed.
"""

from __future__ import annotations

import io
import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..imaging import read
from .manifest import ManifestRecord, read_manifest, write_manifest
from .synthetic import FINDINGS

PROBLEMS = ("exact", "near", "leaked_patient", "near_leak", "wrong_anatomy", "flipped_label", "inverted",
            "bad_window", "burned_in_text")
DEFAULT_SHARE = 0.02  # of the archive's images, per problem: enough to measure, few enough to stay outliers


def plant_problems(archive: str | Path, seed: int = 0, share: float = DEFAULT_SHARE) -> Path:
    """Alter `archive` (made by generate_archive) in place; returns the truth file, planted.json.

    planted.json maps each problem to what a perfect curation run reports: paths (and labels).
    """
    root = Path(archive)
    manifest = root / "manifest.csv"
    records = read_manifest(manifest)
    rng = np.random.default_rng(seed)
    count = max(2, round(share * len(records)))
    truth: dict[str, list] = {p: [] for p in PROBLEMS}
    free = list(rng.permutation(len(records)))  # each original image carries at most one problem

    def take(n: int, ok=lambda r: True) -> list[ManifestRecord]:  # noqa: ANN001
        chosen = [i for i in free if ok(records[i])][:n]
        for i in chosen:
            free.remove(i)
        return [records[i] for i in chosen]

    planted = root / "planted"
    added: list[ManifestRecord] = []
    for n, record in enumerate(take(count)):
        copy = planted / "exact" / f"{n}_{Path(record.path).name}"
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(record.path, copy)
        added.append(replace(record, path=str(copy.resolve())))
        truth["exact"].append([record.path, str(copy.resolve())])
    for n, record in enumerate(take(2 * count)):
        leak = n >= count  # the second half is filed as another patient in another split: leakage
        copy = _near_copy(read(record.path).pixels, planted / "near" / f"{n}_{Path(record.path).stem}", rng)
        row = replace(record, path=str(copy))
        if leak:
            row = replace(row, patient_id=f"LEAK{n:05d}", study_id=f"LEAK{n:05d}-S1",
                          split="train" if record.split != "train" else "test")
            truth["near_leak"].append(str(copy) if row.split == "train" else record.path)
        added.append(row)
        truth["near"].append([record.path, str(copy)])
    by_patient: dict[str, list[ManifestRecord]] = {}
    for record in records:
        by_patient.setdefault(record.patient_id, []).append(record)
    studied = [p for p, rows in by_patient.items() if len({r.study_id for r in rows}) > 1 and rows[0].split != "train"
               and all(records.index(r) in free for r in rows)]
    for patient in list(rng.permutation(studied))[:count]:
        rows = by_patient[patient]
        moved = rows[0].study_id  # the first study goes to train: a study-level split that leaks
        for r in rows:
            free.remove(records.index(r))
            if r.study_id == moved:
                r.split = "train"
                truth["leaked_patient"].append(r.path)
    for record in take(count, lambda r: r.body_part != "CHEST"):
        truth["wrong_anatomy"].append(record.path)
        record.body_part = "CHEST"
    for record in take(count, lambda r: r.body_part == "CHEST"):
        label = str(rng.choice(FINDINGS))
        record.labels = sorted(set(record.labels) ^ {label})
        truth["flipped_label"].append([record.path, label])
    for problem, change in (("inverted", lambda p: 1.0 - p), ("bad_window", lambda p: np.clip(p * 2.5 - 0.9, 0, 1)),
                            ("burned_in_text", None)):
        for record in take(count, lambda r: r.path.endswith(".png")):
            pixels = read(record.path).pixels
            pixels = change(pixels) if change else _stamp_text(pixels, rng)
            Image.fromarray(np.round(pixels * 255).astype(np.uint8)).save(record.path)
            truth[problem].append(record.path)
    write_manifest(records + added, manifest)
    out = root / "planted.json"
    out.write_text(json.dumps(truth, indent=1))
    return out


def _near_copy(pixels: np.ndarray, stem: Path, rng: np.random.Generator) -> Path:
    """A re-encoded (JPEG), resized and slightly cropped copy, as a site's export or a screenshot makes."""
    h, w = pixels.shape
    top, left, bottom, right = rng.uniform(0.0, 0.03, 4)
    image = Image.fromarray(np.round(pixels * 255).astype(np.uint8))
    image = image.crop((round(left * w), round(top * h), w - round(right * w), h - round(bottom * h)))
    scale = rng.uniform(0.6, 0.95)
    image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.BILINEAR)
    stem.parent.mkdir(parents=True, exist_ok=True)
    path = stem.with_suffix(".jpg")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=int(rng.integers(75, 96)))
    path.write_bytes(buffer.getvalue())
    return path.resolve()


def _stamp_text(pixels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Burn a white annotation (side marker, word, date) into a corner, as portable units do."""
    image = Image.fromarray(np.round(pixels * 255).astype(np.uint8))
    h, w = pixels.shape
    font = ImageFont.load_default(size=max(10, h // 18))
    text = str(rng.choice(["PORTABLE AP", "R SUPINE", "ERECT 2019", "L  WEIGHT BEARING"]))
    left, tall = w // 20, max(10, h // 18)
    corners = [h // 30, h - h // 10]  # top or bottom margin: the darker one, where a unit puts its labels
    y = min(corners, key=lambda top: float(pixels[top:top + tall, left:left + w // 2].mean()))
    ImageDraw.Draw(image).text((left, y), text, fill=255, font=font)
    return np.asarray(image, np.float32) / 255.0
