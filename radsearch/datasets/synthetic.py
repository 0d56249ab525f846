"""Deterministic synthetic radiograph archives with reports, written as real DICOM and PNG files.

Seeded so that a test, the demo and a benchmark each get the same archive every time. Chest
findings are drawn only where labelled and the report states each finding or its absence.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from tqdm import tqdm

from . import anatomy
from .drawing import blur, grid
from .manifest import ManifestRecord, write_manifest
from .reports import chest_report, msk_report

log = logging.getLogger(__name__)

FINDINGS = ("cardiomegaly", "pleural_effusion", "pneumothorax", "nodule", "consolidation")
CR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.1"

# Defaults, each with its reason.
ANATOMY_WEIGHTS = {"CHEST": 0.7, "HAND": 0.1, "KNEE": 0.1, "PELVIS": 0.1}  # chest carries the findings
FINDING_RATE = {"cardiomegaly": 0.25, "pleural_effusion": 0.3, "pneumothorax": 0.2, "nodule": 0.25,
                "consolidation": 0.25}  # about a quarter of chest studies are normal
LATERAL_RATE = 0.6  # share of chest studies with a lateral view beside the PA
DICOM_RATE = 0.6  # the rest are PNG, as in a mixed export
MONOCHROME1_RATE = 0.25  # CR plates often store inverted grayscale
SPLITS = (("train", 0.7), ("val", 0.1), ("test", 0.2))  # by patient, so no patient leaks


@dataclass
class SyntheticImage:
    """One rendered image with the facts the generator knows about it."""

    pixels: np.ndarray  # (H, W) float32 in [0, 1]
    body_part: str
    view: str
    laterality: str = ""
    labels: list[str] = field(default_factory=list)
    regions: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)  # finding -> pixel box
    # (y0, x0, y1, x1) in fractions of the image, after positioning


def sample_findings(rng: np.random.Generator) -> dict[str, dict]:
    """Findings of one chest study with their drawing parameters (side, size, position)."""
    findings: dict[str, dict] = {}
    for name, rate in FINDING_RATE.items():
        if rng.random() >= rate:
            continue
        params = {"side": str(rng.choice(["left", "right"]))}
        if name == "cardiomegaly":
            params["width"] = float(rng.uniform(0.18, 0.22))
        elif name == "pleural_effusion":
            params["depth"] = float(rng.uniform(0.09, 0.2))
        elif name == "pneumothorax":
            params["size"] = float(rng.uniform(0.25, 0.4))
        elif name == "nodule":
            params.update(radius=float(rng.uniform(0.022, 0.035)), dy=float(rng.uniform(-0.8, 0.6)),
                          dx=float(rng.uniform(-0.6, 0.6)))
        elif name == "consolidation":
            params.update(dy=float(rng.choice([-1.0, 0.0, 1.0])), seed=int(rng.integers(0, 2**31)))
        findings[name] = params
    return findings


def render(rng: np.random.Generator, body_part: str, view: str, findings: dict[str, dict] | None = None,
           laterality: str = "", size: tuple[int, int] = (256, 256)) -> SyntheticImage:
    """Draw one radiograph with random positioning, exposure and noise."""
    findings = findings or {}
    yy, xx = grid(*size, rotation_deg=rng.uniform(-4, 4), scale=rng.uniform(0.93, 1.05),
                  shift=(rng.uniform(-0.03, 0.03), rng.uniform(-0.03, 0.03)))
    regions: dict = {}
    if body_part == "CHEST" and view == "LAT":
        density, regions = anatomy.chest_lateral(yy, xx, rng, findings)
    elif body_part == "CHEST":
        density, regions = anatomy.chest_pa(yy, xx, rng, findings)
    elif body_part == "HAND":
        density = anatomy.hand(yy, xx, rng)
    elif body_part == "KNEE":
        density = anatomy.knee(yy, xx, rng)
    else:
        density = anatomy.pelvis(yy, xx, rng)
    if laterality == "R" and body_part in ("HAND", "KNEE"):
        density = density[:, ::-1]  # a right limb is the mirror image of a left one on a PA view
    pixels = _expose(rng, density)
    labels = sorted(findings) if body_part == "CHEST" else []
    boxes = {k: _pixel_box(yy, xx, regions[k]) for k in labels if k in regions}
    return SyntheticImage(pixels, body_part, view, laterality, labels, {k: box for k, box in boxes.items() if box})


def _pixel_box(yy: np.ndarray, xx: np.ndarray, box: tuple[float, float, float, float]) -> tuple | None:
    """A box drawn in anatomy coordinates, as the pixel box (fractions of the image) it covers after the
    positioning affine: what a localisation map is checked against."""
    y0, x0, y1, x1 = box
    inside = (yy >= y0) & (yy <= y1) & (xx >= x0) & (xx <= x1)
    rows, cols = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
    if not len(rows):
        return None  # positioned out of the field of view
    h, w = yy.shape
    return (rows[0] / h, cols[0] / w, (rows[-1] + 1) / h, (cols[-1] + 1) / w)


def _expose(rng: np.random.Generator, density: np.ndarray) -> np.ndarray:
    """Detector response: contrast and brightness vary by exposure, plus blur and quantum noise."""
    image = blur(density.astype(np.float32), rng.uniform(0.6, 1.2))
    image = 0.08 + image * rng.uniform(1.3, 1.7)
    image = np.clip(image, 0, 1) ** rng.uniform(0.8, 1.25)
    image = image + rng.normal(0, rng.uniform(0.008, 0.02), image.shape)
    return np.clip(image, 0, 1).astype(np.float32)


KVP_RANGES = {"CHEST/PA": (110, 125), "CHEST/LAT": (115, 130), "HAND": (50, 60), "KNEE": (60, 70),
              "PELVIS": (75, 85)}  # peak kilovoltage radiographers use (a high-kV chest, low-kV extremities)


def technique_kvp(body_part: str, view: str, study: int) -> int:
    """The kVp a study's image was exposed at: within its anatomy's usual range, spread by study number
    (not drawn from the generator's random stream, so adding it changed no pixel of any archive)."""
    low, high = KVP_RANGES.get(f"{body_part}/{view}", KVP_RANGES.get(body_part, (70, 90)))
    return low + (study * 7) % (high - low + 1)


def write_dicom(pixels: np.ndarray, path: Path, tags: dict, monochrome1: bool = False,
                bits_stored: int = 12, rescale: bool = False) -> Path:
    """Store [0, 1] display pixels as a CR DICOM whose header makes a viewer show them unchanged.

    12-bit images carry a full-range window; 16-bit ones none (viewers then use min-max);
    `rescale` stores values offset by a -1024 intercept, with the window in output units.
    """
    max_value = (1 << bits_stored) - 1
    stored = np.round(pixels * max_value).astype(np.uint16)
    if monochrome1:
        stored = (max_value - stored).astype(np.uint16)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = CR_IMAGE_STORAGE
    for keyword, value in tags.items():
        setattr(ds, keyword, value)
    ds.set_pixel_data(stored, "MONOCHROME1" if monochrome1 else "MONOCHROME2", bits_stored,
                      generate_instance_uid="SOPInstanceUID" not in tags)
    if rescale:
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = -1024, 1, "US"
    if bits_stored <= 12:
        offset = -1024 if rescale else 0
        ds.WindowCenter = (max_value + 1) // 2 + offset
        ds.WindowWidth = max_value + 1
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def write_png(pixels: np.ndarray, path: Path, bits: int = 8) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if bits == 16:
        Image.fromarray(np.round(pixels * 65535).astype(np.uint16)).save(path)
    else:
        Image.fromarray(np.round(pixels * 255).astype(np.uint8)).save(path)
    return path


def generate_archive(out_dir: str | Path, studies: int = 200, seed: int = 0,
                     size: tuple[int, int] = (256, 256), progress: bool = True) -> Path:
    """Write `studies` studies (DICOM and PNG) and `manifest.csv` under out_dir; returns the manifest."""
    out = Path(out_dir)
    rng = np.random.default_rng(seed)
    records: list[ManifestRecord] = []
    anatomies, weights = zip(*ANATOMY_WEIGHTS.items())
    split_names, split_weights = zip(*SPLITS)
    bar = tqdm(total=studies, desc="synth studies", unit="study", disable=not progress)
    patient = 0
    made = 0
    while made < studies:
        patient += 1
        pid = f"SYN{seed:03d}{patient:05d}"
        sex = str(rng.choice(["F", "M"]))
        age = int(rng.integers(18, 92))
        split = str(rng.choice(split_names, p=split_weights))
        first = date(2015, 1, 1) + timedelta(days=int(rng.integers(0, 3000)))
        for s in range(min(int(rng.integers(1, 4)), studies - made)):
            made += 1
            bar.update(1)
            study_id = f"{pid}-S{s + 1}"
            study_date = first + timedelta(days=int(rng.integers(30, 400)) * s)
            body_part = str(rng.choice(anatomies, p=weights))
            study_uid = generate_uid(entropy_srcs=[str(seed), study_id])
            if body_part == "CHEST":
                findings = sample_findings(rng)
                views = ["PA", "LAT"] if rng.random() < LATERAL_RATE else ["PA"]
                report = chest_report(rng, findings, views)
                images = [(v, render(rng, "CHEST", v, findings, size=size)) for v in views]
            else:
                side = str(rng.choice(["L", "R"])) if body_part != "PELVIS" else ""
                view = "AP" if body_part != "HAND" else "PA"
                report = msk_report(rng, body_part, {"L": "left", "R": "right"}.get(side, ""))
                images = [(view, render(rng, body_part, view, laterality=side, size=size))]
            for n, (view, image) in enumerate(images):
                stem = out / "images" / pid / f"S{s + 1}" / f"{n + 1}_{view}"
                tags = {
                    "PatientID": pid, "PatientName": f"Synthetic^{pid}", "PatientSex": sex,
                    "PatientAge": f"{age + s:03d}Y", "StudyInstanceUID": study_uid, "StudyID": study_id[-8:],
                    "SeriesInstanceUID": generate_uid(entropy_srcs=[str(seed), study_id, view]),
                    "SOPInstanceUID": generate_uid(entropy_srcs=[str(seed), study_id, view, "sop"]),
                    "StudyDate": study_date.strftime("%Y%m%d"), "Modality": "CR",
                    "BodyPartExamined": body_part, "ViewPosition": view, "ImageLaterality": image.laterality,
                    "AccessionNumber": f"A{seed:03d}{made:06d}", "KVP": technique_kvp(body_part, view, made),
                }
                if rng.random() < DICOM_RATE:
                    bits = int(rng.choice([12, 12, 16]))
                    path = write_dicom(image.pixels, stem.with_suffix(".dcm"), tags,
                                       monochrome1=rng.random() < MONOCHROME1_RATE, bits_stored=bits,
                                       rescale=bits == 12 and rng.random() < 0.3)
                else:
                    path = write_png(image.pixels, stem.with_suffix(".png"), bits=int(rng.choice([8, 8, 16])))
                records.append(ManifestRecord(
                    path=str(path.resolve()), patient_id=pid, study_id=study_id, view=view, body_part=body_part,
                    labels=image.labels, report=report, split=split, sex=sex, age=str(age + s),
                    study_date=study_date.isoformat(), laterality=image.laterality,
                    regions=json.dumps({k: [round(v, 4) for v in box] for k, box in image.regions.items()})
                    if image.regions else "",
                ))
    bar.close()
    manifest = write_manifest(records, out / "manifest.csv")
    log.info("wrote %d images in %d studies to %s", len(records), studies, out)
    return manifest
