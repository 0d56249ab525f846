"""The bulk loader: rows already embedded elsewhere become a library that searches exactly like an indexed one."""

from __future__ import annotations

import numpy as np
import pytest

from radsearch import create_library, open_library
from radsearch.columns import COLUMNS
from radsearch.imaging import PreprocessProfile
from radsearch.storage.bulk import BulkBatch, bulk_load
from radsearch.storage.integrity import check_library
from radsearch.storage.rows import NewImage, NewReport, NewSentence


def exported(lib) -> list[BulkBatch]:
    """Every row of an indexed library as bulk-load input, in two batches (what an export would hand over)."""
    catalog, dim = lib.store.catalog, lib.store.config.embed_dim
    records = catalog.get(None)
    ids, vectors = catalog.embeddings("images", sorted(records), dim)
    report_ids = sorted({r.report_id for r in records.values() if r.report_id is not None})
    _, report_vectors = catalog.embeddings("reports", report_ids, dim)
    report_vector = dict(zip(report_ids, report_vectors))
    sentences = catalog.sentences_of(report_ids, dim)
    profile_hash = PreprocessProfile.from_dict(lib.store.config.profile).hash
    batches, reported = [], set()
    for part in np.array_split(ids, 2):
        images, thumbs, reports = [], [], []
        for image_id, vector in zip(part, vectors[np.isin(ids, part)]):
            record = records[int(image_id)]
            meta = record.metadata
            images.append(NewImage(
                path=record.path, content_hash=f"{image_id:064x}", frame=record.frame, file_size=None,
                file_mtime_ns=None, width=meta["width"], height=meta["height"], profile_hash=profile_hash,
                vector=vector, study_key=record.study_key, series_key=meta["series_uid"] or f"{record.study_key}/1",
                columns={c.name: meta.get(c.name) for c in COLUMNS},
                study={"accession": meta["accession"], "study_uid": meta["study_uid"],
                       "study_date": meta.get("study_date")},
                series={"series_uid": meta["series_uid"]}, labels=record.labels, extra=meta["extra"]))
            thumbs.append(lib.store.paths.thumbnail(int(image_id)).read_bytes())
            if record.report_id is not None and record.report_id not in reported:
                reported.add(record.report_id)
                reports.append(NewReport(record.study_key, record.report, report_vector[record.report_id], [
                    NewSentence(s.section, s.text, s.vector) for s in sentences.get(record.report_id, [])]))
        batches.append(BulkBatch(images, thumbs, reports))
    return batches


def answers(lib, where=None) -> dict[str, list]:
    """What a user sees: paths and scores of image, grouped, report and sentence results."""
    n = lib.count("images")
    images = [(h.path, round(h.score, 5), h.labels, h.why.sentence if h.why else None)
              for h in lib.search("pleural effusion", k=n, where=where)]
    out = {"images": images}
    if where is None:
        out["studies"] = [(g.key, round(g.score, 5)) for g in lib.search("nodule", k=5, by="study")]
        out["reports"] = [(h.text, round(h.score, 5)) for h in lib.search("effusion", k=5, results="reports")]
        out["sentences"] = [(h.text, round(h.score, 5)) for h in lib.search("cardiomegaly", k=5, results="sentences")]
    return out


def test_a_bulk_loaded_library_is_whole_and_answers_as_the_indexed_one(tiny_library, tmp_path):
    indexed = open_library(tiny_library)
    bulk = create_library(tmp_path / "bulk", tiny_library / "model")
    told = []
    counts = bulk_load(bulk.store, exported(indexed), progress=told.append)
    assert sum(told) == indexed.count("images") and len(told) == 2  # progress per committed batch
    assert counts == indexed.store.counts()
    assert check_library(tmp_path / "bulk").ok, str(check_library(tmp_path / "bulk"))
    reopened = open_library(tmp_path / "bulk")
    for where in (None, {"body_part": "CHEST"}, {"sex": "F", "age": {"min": 30}}, {"labels": "effusion"}):
        assert answers(reopened, where) == answers(indexed, where)


def test_a_batch_without_a_thumbnail_per_image_is_refused_before_anything_is_written(tiny_library, tmp_path):
    indexed = open_library(tiny_library)
    bulk = create_library(tmp_path / "bulk", tiny_library / "model")
    batch = exported(indexed)[0]
    with pytest.raises(ValueError, match="thumbnails"):
        bulk_load(bulk.store, [BulkBatch(batch.images, batch.thumbnails[:-1], batch.reports)])
    assert bulk.count("images") == 0
