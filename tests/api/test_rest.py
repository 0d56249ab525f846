"""The REST API answers as the Python API does, with the UI's access rules, audit and limits."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pydicom
import pytest
from fastapi.testclient import TestClient

from radsearch import open_library
from radsearch.access import add_user
from radsearch.api import create_app


@pytest.fixture()
def library(tiny_library, tmp_path) -> Path:
    """A private copy: these tests write audit rows."""
    return Path(shutil.copytree(tiny_library, tmp_path / "library"))


@pytest.fixture()
def users(tmp_path) -> tuple[Path, str]:
    path = tmp_path / "users.toml"
    return path, add_user(path, "alice")


def _dicom_of(lib) -> tuple[int, str]:
    """An indexed DICOM image's id and its file."""
    for record in lib.store.catalog.get(None).values():
        if record.path.endswith(".dcm"):
            return record.id, record.path
    raise AssertionError("the tiny archive has DICOM images")


def test_text_search_returns_what_the_python_api_returns(library):
    client = TestClient(create_app(library))
    answer = client.post("/search", json={"text": "pleural effusion", "k": 5})
    assert answer.status_code == 200
    expected = open_library(library).search.text("pleural effusion", k=5)
    assert [hit["id"] for hit in answer.json()["results"]] == [hit.id for hit in expected]
    first = answer.json()["results"][0]
    assert first["thumbnail"] == f"/images/{first['id']}/thumbnail"  # a link, not a path on the server
    assert client.get(first["thumbnail"]).headers["content-type"] == "image/png"


def test_an_uploaded_image_is_searched_like_the_file(library):
    lib = open_library(library)
    image_id, path = _dicom_of(lib)
    client = TestClient(create_app(library))
    answer = client.post("/search/image", files={"file": ("query.dcm", Path(path).read_bytes())},
                         data={"k": "4", "where": json.dumps({"body_part": lib.image(image_id).metadata["body_part"]})})
    assert answer.status_code == 200, answer.text
    expected = lib.search.image(path, k=4, where={"body_part": lib.image(image_id).metadata["body_part"]})
    assert [hit["id"] for hit in answer.json()["results"]] == [hit.id for hit in expected]
    assert image_id not in [hit["id"] for hit in answer.json()["results"]]  # its own patient is left out


def test_a_study_or_instance_uid_in_the_library_is_a_query(library):
    lib = open_library(library)
    image_id, path = _dicom_of(lib)
    header = pydicom.dcmread(path, stop_before_pixels=True)
    client = TestClient(create_app(library))
    by_instance = client.post("/search", json={"sop_uid": header.SOPInstanceUID, "k": 3})
    assert by_instance.status_code == 200
    assert [h["id"] for h in by_instance.json()["results"]] == [h.id for h in lib.search.like(image_id, k=3)]
    by_study = client.post("/search", json={"study_uid": header.StudyInstanceUID, "k": 3, "by": "study"})
    assert by_study.status_code == 200 and by_study.json()["results"]
    unknown = client.post("/search", json={"study_uid": "1.2.3.4", "k": 3})
    assert unknown.status_code == 404 and "1.2.3.4" in unknown.json()["error"]


def test_reports_drafts_and_facts(library):
    lib = open_library(library)
    image_id, _ = _dicom_of(lib)
    client = TestClient(create_app(library))
    reports = client.post("/search", json={"text": "effusion", "results": "sentences", "k": 2}).json()["results"]
    assert reports and all("text" in r and "why" in r for r in reports)
    draft = client.post("/draft", json={"image_id": image_id, "k": 3})
    assert draft.status_code == 200 and draft.json()["text"]
    stats = client.get("/stats").json()
    assert stats["images"] == lib.count()
    record = client.get(f"/images/{image_id}").json()
    assert record["id"] == image_id and record["metadata"]["sop_uid"]
    schema = client.get("/openapi.json").json()
    assert {"/search", "/search/image", "/draft", "/images/{image_id}", "/heads"} <= set(schema["paths"])


def test_hits_link_into_the_configured_viewer(library, monkeypatch):
    monkeypatch.setenv("RADSEARCH_VIEWER_URL", "https://pacs.example/ohif/viewer?StudyInstanceUIDs={study_uid}")
    lib = open_library(library)
    image_id, path = _dicom_of(lib)
    study = pydicom.dcmread(path, stop_before_pixels=True).StudyInstanceUID
    client = TestClient(create_app(library))
    assert client.get(f"/images/{image_id}").json()["viewer_url"] == \
        f"https://pacs.example/ohif/viewer?StudyInstanceUIDs={study}"
    results = client.post("/search", json={"text": "normal", "k": 20}).json()["results"]
    for hit in results:  # DICOM hits link to their study; a PNG from the manifest has no UID to link
        assert (hit["viewer_url"] is not None) == bool(hit["metadata"]["study_uid"])
    assert any(hit["viewer_url"] for hit in results)


def test_with_a_users_file_every_route_but_health_needs_a_token(library, users):
    users_file, token = users
    client = TestClient(create_app(library, users_file))
    assert client.get("/health").status_code == 200
    refused = client.post("/search", json={"text": "effusion"})
    assert refused.status_code == 401 and "Bearer" in refused.json()["error"]
    assert refused.headers["www-authenticate"].startswith("Bearer")
    wrong = client.post("/search", json={"text": "effusion"}, headers={"Authorization": "Bearer alice:nope"})
    assert wrong.status_code == 401
    signed = client.post("/search", json={"text": "effusion"}, headers={"Authorization": f"Bearer alice:{token}"})
    assert signed.status_code == 200
    entry = open_library(library).audit_log(1)[0]
    assert entry.user == "api:alice" and entry.query == "text: effusion" and entry.results


def test_a_revoked_token_stops_working_at_once(library, users):
    users_file, token = users
    client = TestClient(create_app(library, users_file))
    headers = {"Authorization": f"Bearer alice:{token}"}
    assert client.get("/stats", headers=headers).status_code == 200
    add_user(users_file, "alice")  # a new token replaces the old one
    assert client.get("/stats", headers=headers).status_code == 401


def test_bad_input_gets_a_clear_json_error_and_the_right_status(library):
    lib = open_library(library)
    before = lib.count()
    client = TestClient(create_app(library))
    unknown_column = client.post("/search", json={"text": "effusion", "where": {"body_part = '' OR 1=1 --": "x"}})
    assert unknown_column.status_code == 400 and "body_part = '' OR 1=1 --" in unknown_column.json()["error"]
    injected = client.post("/search", json={"text": "effusion", "where": {"body_part": "CHEST' OR '1'='1"}})
    assert injected.status_code == 200 and injected.json()["results"] == []  # a value, matched as a value
    assert injected.json()["notes"]  # and the empty answer says why
    assert client.post("/search", json={"k": 5}).status_code == 400  # no query
    assert client.post("/search", json={"text": "x", "k": 0}).status_code == 400
    corrupt = client.post("/search/image", files={"file": ("x.dcm", b"\0" * 128 + b"DICM" + b"\x02" * 40)})
    assert corrupt.status_code == 400 and "cannot read image" in corrupt.json()["error"]
    assert client.get("/images/999999").status_code == 404
    assert client.post("/heads/nothing/predict", json={"image_id": 1}).status_code == 404
    assert open_library(library).count() == before


def test_an_upload_over_the_limit_is_refused_before_it_is_read(library):
    client = TestClient(create_app(library, max_upload_mb=0.01))
    answer = client.post("/search/image", files={"file": ("big.png", b"\0" * 50_000)})
    assert answer.status_code == 413 and "limit" in answer.json()["error"]

    def chunks():  # no Content-Length: counted as it streams in
        for _ in range(10):
            yield b"\0" * 5_000

    streamed = client.post("/search/image", content=chunks(), headers={"content-type": "multipart/form-data; b=x"})
    assert streamed.status_code == 413
