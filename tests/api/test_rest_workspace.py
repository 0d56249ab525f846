"""Collections and relevance marks over REST: the same catalog rows the UI and the Python API use."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from radsearch import open_library
from radsearch.access import add_user
from radsearch.api import create_app


@pytest.fixture()
def signed_in(tiny_library, tmp_path):
    library = Path(shutil.copytree(tiny_library, tmp_path / "library"))
    token = add_user(tmp_path / "users.toml", "alice")
    client = TestClient(create_app(library, tmp_path / "users.toml"))
    client.headers["Authorization"] = f"Bearer alice:{token}"
    return client, library


def test_a_collection_is_made_filled_listed_exported_and_searched(signed_in):
    client, library = signed_in
    hits = client.post("/search", json={"text": "pleural effusion", "k": 3}).json()["results"]
    ids = [h["id"] for h in hits]
    assert client.post("/collections/teaching%20file/images", json={"image_ids": ids, "note": "effusions"}).json() \
        == {"added": ids}
    assert client.post("/collections/teaching%20file/searches",
                       json={"text": "pleural effusion", "where": {"body_part": "CHEST"}}).status_code == 200
    listed = client.get("/collections").json()
    assert [(c["name"], c["items"], c["user"]) for c in listed] == [("teaching file", 4, "api:alice")]
    items = client.get("/collections/teaching%20file").json()["items"]
    assert [i["image_id"] for i in items[:3]] == ids and items[3]["search"]["query"] == "pleural effusion"
    manifest = client.get("/collections/teaching%20file/manifest")
    assert manifest.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(manifest.text)))
    assert sorted(r["path"] for r in rows) == sorted(h["path"] for h in hits)
    like = client.post("/collections/teaching%20file/search", json={"k": 4}).json()["results"]
    assert like and not {h["id"] for h in like} & set(ids)
    assert open_library(library).audit_log(1)[0].user == "api:alice"
    assert client.delete(f"/collections/teaching%20file/items/{items[0]['id']}").json() == {"removed": items[0]["id"]}
    assert client.delete("/collections/teaching%20file").json()["items"] == 3


def test_an_unknown_collection_or_item_is_a_404_with_its_name(signed_in):
    client, _ = signed_in
    answer = client.get("/collections/board")
    assert answer.status_code == 404 and "board" in answer.json()["error"]
    assert client.post("/collections/board/images", json={"image_ids": [99999]}).status_code == 404
    assert client.delete("/collections/board/items/1").status_code == 404


def test_marks_refine_the_next_search_of_that_query(signed_in):
    client, _ = signed_in
    plain = client.post("/search", json={"text": "nodule", "k": 8}).json()["results"]
    first = plain[0]["id"]
    marked = client.post("/feedback", json={"text": "nodule", "result_id": first, "relevant": False})
    assert marked.json() == {"marks": {str(first): False}}
    assert client.get("/feedback", params={"text": "nodule"}).json() == {"marks": {str(first): False}}
    refined = client.post("/search", json={"text": "nodule", "k": 8, "feedback": True}).json()["results"]
    assert refined[0]["id"] != first and [h["id"] for h in refined] != [h["id"] for h in plain]
    bad = client.post("/feedback", json={"result_id": first, "relevant": True})
    assert bad.status_code == 400 and "exactly one of text or image_id" in bad.json()["error"]
