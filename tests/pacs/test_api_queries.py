"""The REST API searches with the study being read, fetched from the PACS when the library lacks it."""

from __future__ import annotations

import shutil

import pydicom
from fastapi.testclient import TestClient

from radsearch import open_library
from radsearch.api import create_app


def test_a_study_only_the_pacs_has_is_fetched_and_searched(pacs, tiny_library, shared_dicoms, tmp_path):
    library = shutil.copytree(tiny_library, tmp_path / "library")
    chest = shared_dicoms / "966_fixed.dcm"
    with pacs.rest() as rest:
        rest.post("/instances", content=chest.read_bytes()).raise_for_status()
    uids = pydicom.dcmread(chest, stop_before_pixels=True)
    client = TestClient(create_app(library, pacs=f"dicomweb+{pacs.dicomweb}"))
    expected = [hit.id for hit in open_library(library).search.image(chest, k=5)]
    for query in ({"study_uid": uids.StudyInstanceUID}, {"sop_uid": uids.SOPInstanceUID}):
        answer = client.post("/search", json={**query, "k": 5})
        assert answer.status_code == 200, answer.text
        assert [hit["id"] for hit in answer.json()["results"]] == expected
    offline = TestClient(create_app(library))  # without a PACS the UID must be indexed
    assert offline.post("/search", json={"study_uid": uids.StudyInstanceUID}).status_code == 404
