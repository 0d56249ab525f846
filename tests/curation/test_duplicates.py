"""Exact and near duplicates: grouped, verified on pixels, with a suggested keeper."""

from __future__ import annotations

import io
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

from radsearch import index, open_library
from radsearch.curation import duplicate_rows
from radsearch.curation.neighbours import knn_graph
from radsearch.curation.verify import THRESHOLD, match_score
from radsearch.datasets import read_manifest, write_manifest
from radsearch.datasets.synthetic import render


def _pairs(groups) -> set[frozenset]:  # noqa: ANN001
    return {frozenset((g.keeper["path"], m["path"])) for g in groups for m in g.members[1:]}


def test_exact_copies_are_grouped_with_the_indexed_image_kept(planted):
    _, library, truth = planted
    groups = open_library(library).curate.exact_duplicates()
    assert _pairs(groups) == {frozenset(p) for p in truth["exact"]}
    rows = duplicate_rows(groups)
    assert all(r["image_id"] is not None for r in rows if r["action"] == "keep")
    assert {r["path"] for r in rows if r["action"] == "drop"} == {p[1] for p in truth["exact"]}


def test_near_copies_are_found_and_distinct_films_are_not(planted):
    _, library, truth = planted
    groups = open_library(library).curate.near_duplicates()
    found, planted_pairs = _pairs(groups), {frozenset(p) for p in truth["near"]}
    assert len(found & planted_pairs) >= 0.9 * len(planted_pairs)
    assert len(found & planted_pairs) >= 0.9 * len(found)


def test_the_original_dicom_is_suggested_over_its_jpeg_copy(planted):
    _, library, truth = planted
    groups = open_library(library).curate.near_duplicates()
    copies = {p[1] for p in truth["near"]}
    assert groups and all(not g.keeper["path"].endswith(".jpg") for g in groups)
    assert all(m["path"] in copies for g in groups for m in g.members[1:] if m["path"].endswith(".jpg"))


def test_a_resized_recompressed_crop_matches_its_original_and_not_a_similar_film():
    rng = np.random.default_rng(4)
    film, other = render(rng, "CHEST", "PA").pixels, render(rng, "CHEST", "PA").pixels
    image = Image.fromarray(np.round(film * 255).astype(np.uint8)).crop((5, 3, 250, 249)).resize((180, 182))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    copy = np.asarray(Image.open(buffer), np.float32) / 255
    assert match_score(film, copy) > THRESHOLD
    assert match_score(other, copy) < THRESHOLD


def test_knn_graph_never_returns_the_image_itself_and_matches_brute_force():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(300, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(1000, 1300)
    neighbours, scores = knn_graph(ids, vectors, 5)
    assert not (neighbours == ids[:, None]).any()
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    assert np.array_equal(neighbours, ids[np.argsort(-sims, axis=1)[:, :5]])
    assert np.allclose(scores, np.sort(sims, axis=1)[:, ::-1][:, :5], atol=1e-5)


def test_a_deleted_copy_file_leaves_the_duplicate_report(tiny_archive, tiny_model, tmp_path):
    archive = tmp_path / "archive"
    shutil.copytree(tiny_archive, archive)
    records = read_manifest(archive / "manifest.csv")
    original = Path(next(r.path for r in records if r.path.endswith(".png")))
    copy = archive / "copy_of_one.png"
    shutil.copyfile(original, copy)
    write_manifest(records + [replace(records[0], path=str(copy), split="test")], archive / "manifest.csv")
    library = tmp_path / "library"
    summary = index(archive, library, tiny_model, progress=False)
    assert summary.duplicates == 1
    groups = open_library(library).curate.exact_duplicates()
    assert [m["path"] for m in groups[0].members] == [str(original), str(copy.resolve())]
    assert groups[0].members[1]["split"] == "test"  # what the copy's own manifest row says
    copy.unlink()
    write_manifest(records, archive / "manifest.csv")
    index(archive, library, tiny_model, progress=False)
    assert open_library(library).curate.exact_duplicates() == []


def _lossy_copy_and_export(original: Path, folder: Path) -> tuple[Path, Path]:
    """A lossy JPEG 2000 copy of a DICOM and an 8-bit PNG export of it, as archives accumulate them."""
    import pydicom
    from pydicom.uid import JPEG2000, generate_uid
    ds = pydicom.dcmread(original)
    ds.SOPInstanceUID = generate_uid()
    ds.compress(JPEG2000, j2k_cr=[40])
    lossy = folder / "copy_j2k_lossy.dcm"
    ds.save_as(lossy)
    from radsearch.imaging import read
    export = folder / "export_8bit.png"  # as a viewer shows it, saved at 8 bits
    Image.fromarray(np.round(read(original).pixels * 255).astype(np.uint8)).save(export)
    return lossy, export


def test_the_uncompressed_original_is_kept_over_a_lossy_copy_and_an_8_bit_export(tiny_archive, tiny_model,
                                                                                 tmp_path):
    from radsearch.imaging.fidelity import fidelity
    folder = tmp_path / "archive"
    folder.mkdir()
    source = next(Path(r.path) for r in read_manifest(tiny_archive / "manifest.csv") if r.path.endswith(".dcm"))
    original = folder / "original.dcm"
    shutil.copyfile(source, original)
    lossy, export = _lossy_copy_and_export(original, folder)
    assert fidelity(lossy).lossy and not fidelity(original).lossy and fidelity(export).bits == 8
    index(folder, tmp_path / "library", tiny_model, progress=False)
    groups = open_library(tmp_path / "library").curate.near_duplicates()
    assert len(groups) == 1 and {m["path"] for m in groups[0].members} == {str(original), str(lossy), str(export)}
    assert groups[0].keeper["path"] == str(original)
    drops = {r["path"] for r in duplicate_rows(groups) if r["action"] == "drop"}
    assert drops == {str(lossy), str(export)}
