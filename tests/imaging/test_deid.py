"""`radsearch deid`: shareable copies without identity, grouped as before, repeatable with a salt."""

from __future__ import annotations

import numpy as np
import pydicom
from click.testing import CliRunner

from radsearch.cli import main
from radsearch.datasets.synthetic import render, write_dicom
from radsearch.imaging import read
from radsearch.imaging.deid import deidentify_tree

IDENTITY = {"PatientName": "Doe^Jane", "PatientID": "MRN-8675309", "AccessionNumber": "ACC-424242",
            "PatientBirthDate": "19611103", "PatientAddress": "12 Elm Street", "StudyDate": "20240105",
            "ReferringPhysicianName": "House^Gregory", "StudyDescription": "Chest for Jane Doe",
            "StudyInstanceUID": "1.2.3.9", "Modality": "CR", "BodyPartExamined": "CHEST", "ViewPosition": "PA"}


def _archive(folder, n=2, **extra):
    """A patient's study as exported by a PACS: folder named after the patient, private tags included."""
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        path = write_dicom(render(rng, "CHEST", "PA").pixels, folder / "DOE_JANE" / f"{i}.dcm",
                           IDENTITY | {"SeriesInstanceUID": f"1.2.3.9.{i}"} | extra)
        ds = pydicom.dcmread(path)
        ds.private_block(0x0011, "ACME", create=True).add_new(0x01, "LO", "Jane Doe private")
        ds.save_as(path)
        paths.append(path)
    (folder / "notes.txt").write_text("not DICOM")
    return paths


def _all_text(folder) -> str:
    return "\n".join(str(pydicom.dcmread(p)) + str(p) for p in sorted(folder.rglob("*.dcm")))


def test_copies_carry_no_name_id_birth_date_address_or_private_tag(tmp_path):
    originals = _archive(tmp_path / "in")
    summary = deidentify_tree(tmp_path / "in", tmp_path / "out", salt="s")
    assert summary.written == 2 and summary.skipped["not a DICOM file"] == 1
    text = _all_text(tmp_path / "out")
    for value in ("Doe", "Jane", "DOE_JANE", "8675309", "424242", "19611103", "Elm Street", "House", "1.2.3.9",
                  "ACME"):
        assert value not in text, f"{value!r} survived de-identification"
    copy = pydicom.dcmread(next((tmp_path / "out").rglob("*.dcm")))
    assert copy.PatientIdentityRemoved == "YES" and copy.DeidentificationMethodCodeSequence[0].CodeValue == "113100"
    assert copy.BodyPartExamined == "CHEST" and copy.ViewPosition == "PA"  # what search needs is kept
    # and the pixels are untouched
    copies = sorted(read(p).pixels.tobytes() for p in (tmp_path / "out").rglob("*.dcm"))
    assert copies == sorted(read(p).pixels.tobytes() for p in originals)


def test_the_same_salt_gives_the_same_pseudonyms_and_keeps_the_study_together(tmp_path):
    _archive(tmp_path / "in")
    deidentify_tree(tmp_path / "in", tmp_path / "a", salt="site-secret")
    deidentify_tree(tmp_path / "in", tmp_path / "b", salt="site-secret")
    deidentify_tree(tmp_path / "in", tmp_path / "c", salt="other")
    ids = {name: {(ds.PatientID, ds.StudyInstanceUID) for ds in map(pydicom.dcmread, (tmp_path / name).rglob("*.dcm"))}
           for name in "abc"}
    assert len(ids["a"]) == 1  # both images: one patient, one study
    assert ids["a"] == ids["b"] != ids["c"]


def test_burned_in_annotation_is_refused_unless_allowed(tmp_path):
    _archive(tmp_path / "in", n=1, BurnedInAnnotation="YES")
    assert deidentify_tree(tmp_path / "in", tmp_path / "out").written == 0
    assert deidentify_tree(tmp_path / "in", tmp_path / "out", allow_burned_in=True).written == 1


def test_cli_prints_the_summary_and_refuses_writing_inside_the_source(tmp_path):
    _archive(tmp_path / "in")
    result = CliRunner().invoke(main, ["deid", str(tmp_path / "in"), str(tmp_path / "out"), "--salt", "s"])
    assert result.exit_code == 0 and "wrote 2 de-identified DICOM files" in result.output
    result = CliRunner().invoke(main, ["deid", str(tmp_path / "in"), str(tmp_path / "in" / "out")])
    assert result.exit_code == 1 and "outside the source archive" in result.output
