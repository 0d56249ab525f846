"""Stored head predictions stay complete as the library changes: new images are scored, removed ones
take their predictions with them (on SQLite and PostgreSQL)."""

from __future__ import annotations

import shutil

from sqlalchemy import func, select

from radsearch import index, open_library
from radsearch.datasets import generate_archive
from radsearch.storage.schema import Prediction


def _stored(lib) -> int:
    with lib.store.catalog.session() as s:
        return int(s.scalar(select(func.count(func.distinct(Prediction.image_id))).where(Prediction.head == "zs")))


def test_stored_predictions_cover_images_indexed_later_and_leave_with_removed_ones(tiny_archive, tiny_model,
                                                                                     tmp_path):
    archive = tmp_path / "archive"
    shutil.copytree(tiny_archive, archive)
    index(archive, tmp_path / "lib", tiny_model, progress=False)
    lib = open_library(tmp_path / "lib")
    lib.heads.zero_shot("zs", {"effusion": {"positive": ["pleural effusion"], "negative": ["no pleural effusion"]}})
    first = lib.heads.store_predictions("zs")
    assert first == lib.stats()["images"] == _stored(lib)

    generate_archive(archive / "later", studies=4, seed=21, progress=False)
    summary = index(archive / "later", tmp_path / "lib", progress=False)
    assert summary.added > 0 and summary.predicted == {"zs": summary.added}
    assert "stored head predictions for new images: zs" in str(summary)
    assert _stored(lib) == lib.stats()["images"] == first + summary.added
    assert lib.search.text("chest", 100, where={"head:zs": {"min": 0.0}})  # every image is filterable

    removed = open_library(tmp_path / "lib").remove([archive / "later"])
    assert removed["images"] == summary.added
    assert _stored(lib) == first, "a removed image's predictions go with it"
