"""Damaged libraries: radsearch names the damaged file at open, `radsearch check` lists every problem, and
`radsearch repair` rebuilds what derives from the catalog without changing the catalog."""

from __future__ import annotations

import hashlib

import faiss
import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from radsearch import open_library
from radsearch.cli import main
from radsearch.errors import LibraryCorrupt
from radsearch.storage import LibraryStore
from radsearch.storage.integrity import check_library
from radsearch.storage.schema import Image, Report


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


def _catalog_content(library) -> list:
    """Every image and report row a user could notice, with its embedding."""
    store = LibraryStore.open(library)
    with store.catalog.session() as s:
        images = [(i.id, i.path, i.content_hash, i.body_part, hashlib.sha256(i.embedding).hexdigest())
                  for i in s.scalars(select(Image).order_by(Image.id))]
        reports = [(r.id, r.text, hashlib.sha256(r.embedding).hexdigest())
                   for r in s.scalars(select(Report).order_by(Report.id))]
    store.catalog.engine.dispose()
    return images + reports


def _ids(hits) -> list[int]:
    return [hit.id for hit in hits]


def test_a_whole_library_checks_ok(runner, library):
    result = runner.invoke(main, ["check", "--library", str(library)])
    assert result.exit_code == 0, result.output
    assert "ok (" in result.output and "images" in result.output


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_damaged_faiss_file_is_named_at_open_and_repair_rebuilds_it(runner, library, damage):
    before_hits = _ids(open_library(library).search.text("pleural effusion", k=5))
    before = _catalog_content(library)
    path = library / "vectors" / "images.faiss"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"\0garbage" * 40)

    with pytest.raises(LibraryCorrupt, match=r"images\.faiss is damaged.*radsearch repair --library"):
        open_library(library).search.text("pleural effusion", k=5)
    searched = runner.invoke(main, ["search", "--library", str(library), "--text", "effusion"])
    assert searched.exit_code == 1 and "images.faiss is damaged" in searched.output
    assert "Traceback" not in searched.output
    checked = runner.invoke(main, ["check", "--library", str(library)])
    assert checked.exit_code == 1 and "images.faiss is damaged" in checked.output

    repaired = runner.invoke(main, ["repair", "--library", str(library)])
    assert repaired.exit_code == 0, repaired.output
    assert _catalog_content(library) == before  # not a row or an embedding changed
    assert _ids(open_library(library).search.text("pleural effusion", k=5)) == before_hits
    assert check_library(library).ok


@pytest.mark.parametrize("damage", ["header", "truncated"])
def test_a_damaged_catalog_is_named_and_repair_refuses_to_touch_it(runner, library, damage):
    catalog = library / "catalog.sqlite"
    data = catalog.read_bytes()
    catalog.write_bytes(b"this is not SQLite" + data[18:] if damage == "header" else data[: len(data) // 3])
    damaged = catalog.read_bytes()

    with pytest.raises(LibraryCorrupt, match="catalog.sqlite is damaged.*backup"):
        open_library(library).search.text("pleural effusion", k=5)
    checked = runner.invoke(main, ["check", "--library", str(library)])
    assert checked.exit_code == 1 and "catalog.sqlite" in checked.output and "backup" in checked.output
    repaired = runner.invoke(main, ["repair", "--library", str(library)])
    assert repaired.exit_code == 1 and "restore it from a backup" in repaired.output
    assert "Traceback" not in repaired.output
    assert catalog.read_bytes() == damaged  # repair never writes a catalog it cannot trust


def test_a_vector_count_that_differs_from_the_rows_is_found(library):
    path = library / "vectors" / "reports.faiss"
    index = faiss.read_index(str(path))
    index.remove_ids(faiss.IDSelectorBatch(faiss.vector_to_array(index.id_map)[:2]))
    faiss.write_index(index, str(path))
    report = check_library(library)
    assert not report.ok
    assert any("reports.faiss holds" in p.what and p.repairable for p in report.problems), str(report)


def test_vectors_that_differ_from_the_catalog_are_found(library):
    path = library / "vectors" / "images.faiss"
    index = faiss.read_index(str(path))
    inner = faiss.downcast_index(index.index)
    codes = faiss.vector_to_array(inner.codes).view(np.float32).copy()
    codes[: inner.d] = -codes[: inner.d]  # one vector flipped, as a bit-rotted disk might
    inner.reset()
    inner.add(codes.reshape(-1, inner.d))
    faiss.write_index(index, str(path))
    report = check_library(library)
    assert any("vectors differ from the catalog" in p.what for p in report.problems), str(report)


def test_orphans_leftovers_and_lost_thumbnails_are_listed_then_cleared(runner, library):
    thumbs = library / "thumbs"
    ids = sorted(int(p.stem) for p in thumbs.glob("*.png"))
    (thumbs / f"{ids[0]}.png").unlink()  # lost
    (thumbs / f"{ids[1]}.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")  # unreadable
    (thumbs / "999999.png").write_bytes((thumbs / f"{ids[2]}.png").read_bytes())  # of no image
    (thumbs / ".17.png.tmp").write_bytes(b"half")  # a killed write
    (library / "vectors" / ".images.faiss.x1y2").write_bytes(b"half")
    report = check_library(library)
    found = " | ".join(p.what for p in report.problems)
    for expected in ("1 images have no thumbnail", "1 unreadable thumbnails", "1 thumbnails of no image",
                     "1 leftovers of interrupted writes", ".images.faiss.x1y2 is the leftover"):
        assert expected in found, found
    assert all(p.repairable for p in report.problems)

    result = runner.invoke(main, ["repair", "--library", str(library)])
    assert result.exit_code == 0, result.output
    assert "ok (" in result.output
    assert not (thumbs / "999999.png").exists() and not (thumbs / ".17.png.tmp").exists()
    assert (thumbs / f"{ids[0]}.png").is_file() and (thumbs / f"{ids[1]}.png").stat().st_size > 100


def test_a_model_that_is_not_the_one_the_vectors_came_from_is_reported(runner, library):
    weights = next((library / "model").glob("*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # one weight changed: another model
    weights.write_bytes(bytes(data))
    result = runner.invoke(main, ["check", "--library", str(library)])
    assert result.exit_code == 1
    assert "model" in result.output and "restore that model" in result.output
    assert runner.invoke(main, ["repair", "--library", str(library)]).exit_code == 1  # repair cannot derive a model


def test_a_malformed_config_file_is_named(runner, library):
    (library / "radsearch.toml").write_text("model_id = [unclosed\n")
    result = runner.invoke(main, ["check", "--library", str(library)])
    assert result.exit_code == 1 and "radsearch.toml is not valid TOML" in result.output
