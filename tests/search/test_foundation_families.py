"""Published model families used as they are, end to end: each tiny stand-in indexes an archive, searches it
and is evaluated, with no training; image-only models serve everything that needs no text and refuse text
with the fix; the bake-off scores a candidate as if the archive had been indexed with it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from radsearch import index, open_library
from radsearch.cli import main
from radsearch.datasets import generate_archive, read_manifest
from radsearch.errors import NoTextTower
from radsearch.evaluation.retrieval import evaluate
from radsearch.models import load_encoder
from radsearch.models.standins import write_standin
from radsearch.training import AlignSettings, align

OPEN_CLIP = Path(__file__).parents[1] / "models" / "fixtures" / "open_clip" / "biomedclip-tiny"
IMAGE_ONLY = ["rad-dino", "dinov2", "dinov2-registers", "vit", "convnext", "swin", "beit"]
WITH_TEXT = ["clip", "siglip", "open-clip", "aligned"]
ALL_SPLITS = ("train", "val", "test")


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("families-archive")
    generate_archive(root, studies=40, seed=5, progress=False)
    return root


@pytest.fixture(scope="module")
def model_dirs(archive, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("family-models")
    dirs = {kind: write_standin(kind, root / kind) for kind in IMAGE_ONLY + ["clip", "siglip"]}
    dirs["open-clip"] = OPEN_CLIP
    dirs["aligned"] = align(dirs["rad-dino"], archive / "manifest.csv", root / "aligned",
                            AlignSettings(epochs=3, splits=ALL_SPLITS), progress=False)
    return dirs


@pytest.fixture(scope="module")
def libraries(archive, model_dirs, tmp_path_factory) -> dict[str, Path]:
    """Libraries indexed lazily, once per family."""
    root, built = tmp_path_factory.mktemp("family-libs"), {}

    class Lazy(dict):
        def __missing__(self, kind: str) -> Path:
            built[kind] = root / kind
            index(archive, built[kind], model_dirs[kind], progress=False)
            self[kind] = built[kind]
            return built[kind]

    return Lazy()


@pytest.mark.parametrize("kind", IMAGE_ONLY + WITH_TEXT)
def test_a_published_family_indexes_searches_and_evaluates_as_it_is(kind, archive, model_dirs, libraries):
    lib = open_library(libraries[kind])
    encoder = load_encoder(model_dirs[kind])
    assert lib.stats()["model_id"] == encoder.model_id  # the library records which model made its vectors
    assert lib.overview()["model"]["profile"] == encoder.profile.to_dict()  # and how it preprocessed
    record = read_manifest(archive / "manifest.csv")[0]
    hits = lib.search.image(record.path, k=5, include_own=True)
    assert hits[0].path == record.path and hits[0].score == pytest.approx(1.0, abs=1e-4)
    assert lib.search.cases(record.path, k=3)
    if kind in WITH_TEXT:
        found = lib.search.text("left pleural effusion", k=5)
        assert len(found) == 5 and all(h.why is not None for h in found if h.report)
        assert lib.search.reports("pleural effusion", k=3)
    else:
        with pytest.raises(NoTextTower, match="radsearch align"):
            lib.search.text("left pleural effusion", k=5)
    report = evaluate(lib, archive / "manifest.csv", k=5, split="test", progress=False)
    assert 0.0 <= report.image_precision_at_k <= 1.0 and report.queries > 0
    assert (report.text_precision_at_k is None) == (kind in IMAGE_ONLY)


def test_an_image_only_library_serves_heads_curation_and_drafts_and_names_the_fix_for_text(archive, libraries):
    lib = open_library(libraries["rad-dino"])
    record = next(r for r in read_manifest(archive / "manifest.csv") if r.body_part == "CHEST")
    lib.heads.train("view", column="view", where={"body_part": "CHEST"})
    assert lib.heads.predict(record.path, "view").positive[0] in {"PA", "AP", "LAT"}  # on image embeddings alone
    assert isinstance(lib.curate.duplicates(), list) and isinstance(lib.curate.outliers(), list)
    draft = lib.search.draft(record.path)  # from image neighbours' reports, each sentence cited
    assert draft.cases and all(s.cases for s in draft.sentences)
    assert all(c in {case.study_key for case in draft.cases} for s in draft.sentences for c in s.cases)
    for refused in (lambda: lib.heads.zero_shot("effusion", labels=["effusion"]),
                    lambda: lib.search.reports("effusion"), lambda: lib.search.sentences("effusion")):
        with pytest.raises(NoTextTower, match="radsearch align"):
            refused()


def test_an_aligned_model_keeps_the_image_models_vectors_and_adds_text(archive, model_dirs, libraries):
    image_only = open_library(libraries["rad-dino"])
    aligned = open_library(libraries["aligned"])
    record = read_manifest(archive / "manifest.csv")[3]
    assert aligned.search.embed_images([record.path]).tolist() == image_only.search.embed_images([record.path]).tolist()
    assert aligned.search.text("no acute cardiopulmonary abnormality", k=3)


def test_the_bake_off_scores_a_candidate_as_if_the_archive_had_been_indexed_with_it(archive, model_dirs, libraries):
    lib = open_library(libraries["rad-dino"])
    queries = archive / "manifest.csv"
    report = evaluate(lib, queries, k=5, baselines=("pixels", "random-init"),
                      compare=[model_dirs["clip"], model_dirs["open-clip"]], progress=False)
    names = [s.name for s in report.baselines]
    assert names == ["pixels", "random-init", "clip", "biomedclip-tiny"]
    alone = evaluate(open_library(libraries["clip"]), queries, k=5, progress=False).model
    candidate = report.baselines[2]
    for figure in ("image_precision_at_k", "image_map_at_k", "text_precision_at_k", "report_recall_at_k"):
        assert getattr(candidate, figure) == pytest.approx(getattr(alone, figure), abs=1e-6), figure
    assert report.model.text_precision_at_k is None and candidate.text_precision_at_k is not None
    without = evaluate(lib, queries, k=5, progress=False).model
    assert report.model.image_precision_at_k == without.image_precision_at_k  # candidates change nothing else
    table = report.table()
    assert "biomedclip-tiny" in table and "n/a" in table.splitlines()[4]  # text->image row: n/a for image-only


def test_cli_eval_compare_prints_one_table_with_every_candidate(archive, model_dirs, libraries):
    result = CliRunner().invoke(main, ["eval", "--library", str(libraries["rad-dino"]), "--queries",
                                       str(archive / "manifest.csv"), "-k", "5", "--baseline", "pixels",
                                       "--compare", str(model_dirs["siglip"]), "--compare", str(model_dirs["swin"]),
                                       "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert {"model", "pixels", "siglip", "swin"} <= set(figures)
    assert figures["swin"]["text_precision_at_k"] is None and figures["siglip"]["text_precision_at_k"] is not None


def test_cli_eval_compare_names_a_directory_it_cannot_read(archive, libraries, tmp_path):
    result = CliRunner().invoke(main, ["eval", "--library", str(libraries["rad-dino"]), "--queries",
                                       str(archive / "manifest.csv"), "--compare", str(tmp_path)])
    assert result.exit_code == 1 and str(tmp_path) in result.output and "Traceback" not in result.output
