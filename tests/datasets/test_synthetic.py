"""The synthetic archive: deterministic, findings drawn only where labelled, reports that say so."""

from __future__ import annotations

import hashlib
from collections import defaultdict

import numpy as np
import pydicom

from radsearch.datasets import FINDINGS, generate_archive, read_manifest
from radsearch.datasets.synthetic import render


def _digest(root) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(root).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()


def test_same_seed_writes_the_same_archive(tmp_path):
    a = generate_archive(tmp_path / "a", studies=6, seed=11, progress=False).parent
    b = generate_archive(tmp_path / "b", studies=6, seed=11, progress=False).parent
    c = generate_archive(tmp_path / "c", studies=6, seed=12, progress=False).parent
    assert _digest(a) == _digest(b)
    assert _digest(a) != _digest(c)


def _pair(finding: str, params: dict, view: str = "PA") -> tuple[np.ndarray, np.ndarray, tuple]:
    with_it = render(np.random.default_rng(5), "CHEST", view, {finding: params})
    without = render(np.random.default_rng(5), "CHEST", view, {})
    return with_it.pixels, without.pixels, with_it.regions.get(finding)


def _inside_vs_outside(diff: np.ndarray, box: tuple) -> tuple[float, float]:
    h, w = diff.shape
    y0, x0, y1, x1 = (int(box[0] * h), int(box[1] * w), int(np.ceil(box[2] * h)), int(np.ceil(box[3] * w)))
    mask = np.zeros_like(diff, bool)
    mask[y0:y1, x0:x1] = True
    return float(diff[mask].mean()), float(diff[~mask].mean())


def test_each_finding_is_drawn_inside_its_region_only():
    cases = {"nodule": {"side": "left", "radius": 0.03, "dy": 0.0, "dx": 0.0},
             "pleural_effusion": {"side": "right", "depth": 0.15},
             "pneumothorax": {"side": "left", "size": 0.35},
             "consolidation": {"side": "right", "dy": 0.0},
             "cardiomegaly": {"side": "left", "width": 0.21}}
    for finding, params in cases.items():
        with_it, without, box = _pair(finding, params)
        inside, outside = _inside_vs_outside(np.abs(with_it - without), box)
        assert inside > 5 * outside, f"{finding}: change inside {inside:.4f} vs outside {outside:.4f}"


def test_left_effusion_is_on_the_image_right_of_a_pa_view():
    with_it, without, _ = _pair("pleural_effusion", {"side": "left", "depth": 0.18})
    diff = with_it - without
    half = diff.shape[1] // 2
    assert diff[:, half:].sum() > 5 * abs(diff[:, :half].sum())  # patient's left = viewer's right


def test_archive_mixes_dicom_png_monochrome1_and_16_bit(tiny_archive):
    records = read_manifest(tiny_archive / "manifest.csv")
    suffixes = {r.path.rsplit(".", 1)[1] for r in records}
    assert suffixes == {"dcm", "png"}
    headers = [pydicom.dcmread(r.path, stop_before_pixels=True) for r in records if r.path.endswith(".dcm")]
    assert {h.PhotometricInterpretation for h in headers} == {"MONOCHROME1", "MONOCHROME2"}
    assert {int(h.BitsStored) for h in headers} >= {12, 16}
    assert all(h.PatientID and h.StudyInstanceUID and h.SOPInstanceUID and h.BodyPartExamined for h in headers)


def test_reports_state_each_finding_and_negate_the_absent_ones(tmp_path):
    records = read_manifest(generate_archive(tmp_path, studies=40, seed=2, progress=False))
    words = {"cardiomegaly": ("cardiomegaly", "enlarged"), "pleural_effusion": ("effusion", "costophrenic"),
             "pneumothorax": ("pneumothorax",), "nodule": ("nodule",), "consolidation": ("consolidation", "opacity")}
    chest = [r for r in records if r.body_part == "CHEST"]
    assert chest and any(not r.labels for r in chest) and any(r.labels for r in chest)
    for r in chest:
        text = r.report.lower()
        assert "findings:" in text and "impression:" in text
        for finding in r.labels:
            assert any(w in text for w in words[finding]), (finding, r.report)
        if "pneumothorax" not in r.labels:
            assert "no pneumothorax" in text or "there is no pneumothorax" in text
    assert set().union(*(r.labels for r in chest)) == set(FINDINGS)


def test_every_anatomy_and_several_studies_per_patient(tmp_path):
    records = read_manifest(generate_archive(tmp_path, studies=60, seed=4, progress=False))
    assert {(r.body_part, r.view) for r in records} >= {("CHEST", "PA"), ("CHEST", "LAT"), ("HAND", "PA"),
                                                        ("KNEE", "AP"), ("PELVIS", "AP")}
    studies = defaultdict(set)
    for r in records:
        studies[r.patient_id].add(r.study_id)
    assert max(len(s) for s in studies.values()) >= 2


def test_splits_never_share_a_patient(tmp_path):
    records = read_manifest(generate_archive(tmp_path, studies=80, seed=6, progress=False))
    split_of = defaultdict(set)
    for r in records:
        split_of[r.patient_id].add(r.split)
    assert all(len(s) == 1 for s in split_of.values())
    assert {r.split for r in records} == {"train", "val", "test"}
