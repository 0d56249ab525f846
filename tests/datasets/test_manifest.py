"""The manifest contract: one CSV, paths relative to it, labels pipe-separated."""

from __future__ import annotations

import pytest

from radsearch.datasets import ManifestRecord, read_manifest, write_manifest
from radsearch.datasets.report_text import embedding_text, sections
from radsearch.errors import ManifestError


def test_manifest_round_trips_with_relative_paths(tmp_path):
    image = tmp_path / "imgs" / "a.png"
    records = [ManifestRecord(path=str(image), patient_id="P1", study_id="S1", view="PA", body_part="CHEST",
                              labels=["nodule", "cardiomegaly"], report="IMPRESSION: Nodule.", split="test")]
    manifest = write_manifest(records, tmp_path / "manifest.csv")
    assert "imgs/a.png" in manifest.read_text() and str(tmp_path) not in manifest.read_text()
    assert "cardiomegaly|nodule" in manifest.read_text()
    back = read_manifest(manifest)[0]
    assert back.path == str(image.resolve()) and back.labels == ["cardiomegaly", "nodule"] and back.split == "test"


def test_manifest_missing_a_column_names_it(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("path,patient_id\nx.png,P1\n")
    with pytest.raises(ManifestError, match="study_id"):
        read_manifest(path)


def test_missing_manifest_is_a_clear_error(tmp_path):
    with pytest.raises(ManifestError, match="does not exist"):
        read_manifest(tmp_path / "none.csv")


def test_report_sections_and_the_text_that_is_embedded():
    report = "EXAMINATION: PA chest. FINDINGS: No pneumothorax. Small left effusion. IMPRESSION: Left effusion."
    assert sections(report)["FINDINGS"] == "No pneumothorax. Small left effusion."
    assert embedding_text(report) == "Left effusion."
    assert embedding_text("Free text without sections.") == "Free text without sections."
