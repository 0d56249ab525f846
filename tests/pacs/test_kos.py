"""Similar cases go back into the PACS as a Key Object Selection in the study being read."""

from __future__ import annotations

import shutil
from io import BytesIO
from pathlib import Path

import highdicom as hd
import pydicom
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from pydicom.uid import KeyObjectSelectionDocumentStorage

from radsearch import open_library
from radsearch.api import create_app
from radsearch.cli import main
from radsearch.pacs import DicomWeb, PacsCredentials
from radsearch.pacs.kos import referenced_instances


def _query(tiny_archive: Path) -> Path:
    return sorted((tiny_archive / "images").rglob("*.dcm"))[0]


def test_a_kos_references_the_query_and_the_dicom_hits(tiny_library, tiny_archive):
    lib = open_library(tiny_library)
    query = _query(tiny_archive)
    hits = lib.search.image(query, k=8)
    document = lib.key_objects(query, hits, description="similar cases")
    current = pydicom.dcmread(query, stop_before_pixels=True)
    assert document.SOPClassUID == KeyObjectSelectionDocumentStorage
    assert document.StudyInstanceUID == current.StudyInstanceUID  # shown with the study being read
    dicom_hits = [h.metadata["sop_uid"] for h in hits if h.metadata.get("sop_uid")]
    assert dicom_hits and referenced_instances(document) == [current.SOPInstanceUID, *dicom_hits]
    parsed = hd.ko.KeyObjectSelectionDocument.from_dataset(document)  # a valid document for highdicom too
    for sop in dicom_hits:
        study, _, _ = parsed.resolve_reference(sop)
        assert study == lib.image(next(h.id for h in hits if h.metadata["sop_uid"] == sop)).metadata["study_uid"]
    buffer = BytesIO()
    document.save_as(buffer, enforce_file_format=True)
    assert pydicom.dcmread(BytesIO(buffer.getvalue())).ContentSequence


def test_a_png_query_cannot_have_a_kos(tiny_library, tiny_archive):
    lib = open_library(tiny_library)
    png = sorted((tiny_archive / "images").rglob("*.png"))[0]
    with pytest.raises(ValueError, match="DICOM file of the study being read"):
        lib.key_objects(png, lib.search.image(png, k=3))


def test_search_export_kos_and_stow_it_into_the_pacs(pacs, tiny_library, tiny_archive, tmp_path):
    query = _query(tiny_archive)
    out = tmp_path / "kos.dcm"
    result = CliRunner().invoke(main, ["search", "--library", str(tiny_library), "--image", str(query), "-k", "5",
                                       "--export-kos", str(out), "--stow", f"dicomweb+{pacs.dicomweb}"])
    assert result.exit_code == 0, result.output
    sop = pydicom.dcmread(out).SOPInstanceUID
    study = pydicom.dcmread(query, stop_before_pixels=True).StudyInstanceUID
    found = DicomWeb(f"dicomweb+{pacs.dicomweb}", PacsCredentials(pacs.user, pacs.password)).instances(study)
    assert sop in [ref.sop_uid for ref in found]  # in the PACS, in the study being read


def test_the_api_returns_and_stores_a_kos(pacs, tiny_library, tiny_archive, tmp_path):
    library = shutil.copytree(tiny_library, tmp_path / "library")
    query = _query(tiny_archive)
    client = TestClient(create_app(library, pacs=f"dicomweb+{pacs.dicomweb}"))
    answer = client.post("/kos/image", files={"file": ("q.dcm", query.read_bytes())}, data={"k": "4", "stow": "true"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/dicom" and answer.headers["x-radsearch-stored"]
    document = pydicom.dcmread(BytesIO(answer.content))
    with pacs.rest() as rest:
        assert rest.get(f"/dicom-web/studies/{document.StudyInstanceUID}/instances").status_code == 200
    unreachable = TestClient(create_app(library, pacs="dicomweb+http://127.0.0.1:9/dicom-web"))
    failed = unreachable.post("/kos/image", files={"file": ("q.dcm", query.read_bytes())}, data={"stow": "true"})
    assert failed.status_code == 502 and "cannot reach the PACS" in failed.json()["error"]
