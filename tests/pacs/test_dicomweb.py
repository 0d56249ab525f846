"""Indexing from a real PACS (Orthanc) over DICOMweb: what a hospital's nightly job would do."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pydicom
import pytest
from click.testing import CliRunner
from pydicom.encaps import encapsulate
from sr_documents import basic_text_sr, header

from radsearch import index, open_library
from radsearch.cli import main
from radsearch.pacs import DicomWeb, PacsCredentials, PacsError

REAL = ("966_fixed.dcm", "JPEG2KLossless_1s_1f_u_16_16.dcm", "RG2_JLSL.dcm")  # DX chest, DX, CR hip (JPEG-LS)


def _upload(pacs, paths) -> None:
    with pacs.rest() as client:
        for path in paths:
            assert client.post("/instances", content=Path(path).read_bytes()).status_code == 200


def _source(pacs) -> str:
    return f"dicomweb+{pacs.dicomweb}"


def _synthetic_study(tiny_archive: Path) -> list[Path]:
    paths = sorted((tiny_archive / "images").rglob("*.dcm"))
    study = pydicom.dcmread(paths[0], stop_before_pixels=True).StudyInstanceUID
    return [p for p in paths if pydicom.dcmread(p, stop_before_pixels=True).StudyInstanceUID == study]


def test_a_pacs_is_indexed_with_its_sr_reports_and_a_rerun_fetches_nothing(pacs, shared_dicoms, tiny_archive,
                                                                          tiny_model, tmp_path):
    study = _synthetic_study(tiny_archive)
    sr = basic_text_sr(tmp_path / "sr.dcm", header(study[0]), ["Small right pleural effusion."],
                       ["Right pleural effusion."])
    _upload(pacs, [shared_dicoms / name for name in REAL] + study)
    DicomWeb(_source(pacs), PacsCredentials(pacs.user, pacs.password)).store([pydicom.dcmread(sr)])  # STOW-RS
    summary = index(_source(pacs), tmp_path / "lib", tiny_model, progress=False)
    assert summary.failed == 0 and summary.added == len(REAL) + len(study)
    assert summary.pacs["fetched"] == len(REAL) + len(study) + 1 and summary.reports_added == 1
    lib = open_library(tmp_path / "lib")
    chest = pydicom.dcmread(shared_dicoms / "966_fixed.dcm", stop_before_pixels=True)
    (chest_id,) = lib.find_dicom(sop_uid=chest.SOPInstanceUID)
    assert lib.image(chest_id).metadata["body_part"] == "CHEST"  # the header's facts, as from a folder
    (study_image, *_) = lib.find_dicom(study_uid=header(study[0]).StudyInstanceUID)
    expected = "FINDINGS: Small right pleural effusion. IMPRESSION: Right pleural effusion."
    assert lib.image(study_image).report == expected
    again = index(_source(pacs), tmp_path / "lib", progress=False)
    assert again.added == 0 and again.pacs["fetched"] == 0
    assert again.pacs["already indexed (not fetched)"] == len(REAL) + len(study)  # known UIDs: not downloaded
    assert lib.audit_log  # the library still opens and answers
    assert lib.store.catalog.runs()[0].source == _source(pacs)


def test_filters_and_since_last_narrow_what_is_fetched(pacs, shared_dicoms, tiny_model, tmp_path):
    _upload(pacs, [shared_dicoms / name for name in REAL])
    only_cr = index(_source(pacs), tmp_path / "lib", tiny_model, progress=False, modalities=["CR"])
    assert only_cr.added == 1 and only_cr.pacs["studies"] == 1
    sync = json.loads((tmp_path / "lib" / "pacs" / "sync.json").read_text())
    assert sync[pacs.dicomweb]["last_sync"]
    nightly = CliRunner().invoke(main, ["index", _source(pacs), "--library", str(tmp_path / "lib"), "--since", "last"])
    assert nightly.exit_code == 0, nightly.output  # today's sync: the old studies are not listed again
    assert "PACS: 0 studies" in nightly.output


def test_an_instance_that_fails_to_decode_is_recorded_and_the_rest_indexed(pacs, shared_dicoms, tiny_model,
                                                                            tmp_path):
    broken = pydicom.dcmread(shared_dicoms / "966_fixed.dcm")
    broken.SOPInstanceUID = pydicom.uid.generate_uid()
    broken.PixelData = encapsulate([b"\xff\xd8" + bytes(2000)])  # a valid container around a broken JPEG
    broken.save_as(tmp_path / "broken.dcm")
    _upload(pacs, [tmp_path / "broken.dcm", shared_dicoms / "RG2_JLSL.dcm"])
    summary = index(_source(pacs), tmp_path / "lib", tiny_model, progress=False)
    assert summary.added == 1 and summary.failed == 1
    failure = open_library(tmp_path / "lib").store.catalog.failures()[0]
    assert failure.path.endswith(f"{broken.SOPInstanceUID}.dcm")


def test_pacs_problems_are_clear_errors(pacs, tiny_model, tmp_path, monkeypatch):
    monkeypatch.setenv("RADSEARCH_PACS_PASSWORD", "wrong")
    with pytest.raises(PacsError, match="refused the credentials \\(HTTP 401\\)"):
        index(_source(pacs), tmp_path / "lib", tiny_model, progress=False)
    cli = CliRunner().invoke(main, ["index", _source(pacs), "--library", str(tmp_path / "lib2"),
                                    "--model", str(tiny_model)])
    assert cli.exit_code == 1 and cli.output.startswith("error: the PACS at") and "Traceback" not in cli.output
    assert "wrong" not in cli.output  # never the secret
    with pytest.raises(PacsError, match="cannot reach the PACS"):
        DicomWeb("dicomweb+http://127.0.0.1:9/dicom-web", PacsCredentials()).studies()
    with pytest.raises(PacsError, match="HTTP 404"):
        DicomWeb(f"dicomweb+{pacs.url}/not-dicom-web", PacsCredentials(pacs.user, pacs.password)).studies()
    with pytest.raises(PacsError, match="do not belong in the PACS URL"):
        DicomWeb("dicomweb+http://user:secret@127.0.0.1:8042/dicom-web")


def test_credentials_come_from_a_private_file(pacs, shared_dicoms, tiny_model, tmp_path, monkeypatch):
    monkeypatch.delenv("RADSEARCH_PACS_USER")
    monkeypatch.delenv("RADSEARCH_PACS_PASSWORD")
    _upload(pacs, [shared_dicoms / "RG2_JLSL.dcm"])
    secrets = tmp_path / "pacs.toml"
    secrets.write_text(f'user = "{pacs.user}"\npassword = "{pacs.password}"\n')
    os.chmod(secrets, 0o644)
    shown = CliRunner().invoke(main, ["index", _source(pacs), "--library", str(tmp_path / "lib"), "--model",
                                      str(tiny_model), "--credentials", str(secrets)])
    assert shown.exit_code == 1 and "chmod 600" in shown.output
    os.chmod(secrets, 0o600)
    ok = CliRunner().invoke(main, ["index", _source(pacs), "--library", str(tmp_path / "lib"), "--model",
                                   str(tiny_model), "--credentials", str(secrets)])
    assert ok.exit_code == 0, ok.output
    assert "added 1 images" in ok.output
    shutil.rmtree(tmp_path / "lib")
