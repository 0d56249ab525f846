"""Incremental runs: new files are the only ones embedded; unchanged files are not even read again."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
from PIL import Image as PILImage
from sqlalchemy import select

from radsearch import index
from radsearch.indexer import pipeline
from radsearch.models import RadsearchModel
from radsearch.storage import LibraryStore
from radsearch.storage.schema import Image


@pytest.fixture()
def embedded(monkeypatch) -> list[int]:
    """Counts the images the encoder embeds during the test."""
    counts: list[int] = []
    original = RadsearchModel.encode_image

    def counting(self, batch):  # noqa: ANN001, ANN202
        counts.append(len(batch))
        return original(self, batch)

    monkeypatch.setattr(RadsearchModel, "encode_image", counting)
    return counts


def _pngs(folder):
    return sorted(folder.rglob("*.png"))


def test_adding_ten_percent_new_files_embeds_only_them(tiny_archive, tiny_model, tmp_path, embedded):
    archive = tmp_path / "archive"
    shutil.copytree(tiny_archive / "images", archive)
    files = _pngs(archive)
    later = files[: max(1, len(files) // 10)]
    parked = tmp_path / "parked"
    for path in later:  # hold back 10% of the files for the second run
        target = parked / path.relative_to(archive)
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)
    first = index(archive, tmp_path / "lib", tiny_model, progress=False)
    store = LibraryStore.open(tmp_path / "lib")
    with store.catalog.session() as s:
        before = {row.path: (row.id, row.embedding) for row in s.scalars(select(Image))}
    for path in later:
        (parked / path.relative_to(archive)).rename(path)
    embedded.clear()
    second = index(archive, tmp_path / "lib", progress=False)
    assert second.added == len(later) and sum(embedded) == len(later)
    assert second.unchanged == first.added
    with store.catalog.session() as s:
        after = {row.path: (row.id, row.embedding) for row in s.scalars(select(Image))}
    assert {p: after[p] for p in before} == before  # old rows untouched: same ids, same vectors
    assert set(after) - set(before) == {str(p) for p in later}
    assert store.vectors("images").ntotal == len(after)


def test_unchanged_files_are_recognised_without_reading_them(tiny_archive, tiny_model, tmp_path, monkeypatch):
    index(tiny_archive, tmp_path / "lib", tiny_model, progress=False)

    def no_reading(path):  # noqa: ANN001, ANN202
        raise AssertionError(f"{path} was read again")

    monkeypatch.setattr(pipeline, "content_hash", no_reading)
    summary = index(tiny_archive, tmp_path / "lib", progress=False)
    assert summary.added == 0 and summary.unchanged == summary.scanned


def test_a_touched_file_is_hashed_once_then_known_again(tiny_archive, tiny_model, tmp_path, monkeypatch):
    archive = tmp_path / "archive"
    shutil.copytree(tiny_archive / "images", archive)
    index(archive, tmp_path / "lib", tiny_model, progress=False)
    touched = _pngs(archive)[0]
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 10**9))
    read: list = []
    original = pipeline.content_hash
    monkeypatch.setattr(pipeline, "content_hash", lambda path: read.append(path) or original(path))
    assert index(archive, tmp_path / "lib", progress=False).added == 0 and read == [touched]
    read.clear()
    assert index(archive, tmp_path / "lib", progress=False).added == 0 and read == []


def test_a_file_rewritten_with_new_content_replaces_its_images(tiny_archive, tiny_model, tmp_path):
    archive = tmp_path / "archive"
    shutil.copytree(tiny_archive / "images", archive)
    index(archive, tmp_path / "lib", tiny_model, progress=False)
    target = _pngs(archive)[0]
    store = LibraryStore.open(tmp_path / "lib")
    with store.catalog.session() as s:
        old = s.scalars(select(Image).where(Image.path == str(target))).one()
        old_id, old_hash, n = old.id, old.content_hash, s.query(Image).count()
    flipped = np.asarray(PILImage.open(target))[::-1]  # new pixels, same path
    PILImage.fromarray(np.ascontiguousarray(flipped)).save(target)
    summary = index(archive, tmp_path / "lib", progress=False)
    assert summary.replaced == 1 and summary.added == 1 and "1 replaced" in str(summary)
    with store.catalog.session() as s:
        new = s.scalars(select(Image).where(Image.path == str(target))).one()
        assert new.id != old_id and new.content_hash != old_hash and s.query(Image).count() == n
    assert old_id not in set(store.vectors("images").ids().tolist())
