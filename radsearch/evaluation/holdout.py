"""Evaluation without a library: a model directory scored on a manifest's own split against same-run
baselines. This is what `radsearch train` runs for its model card and what benchmarks/real_quality.py runs
for each recipe; the figures are the ones `radsearch eval` prints for a library (evaluation.retrieval).

The gallery is every readable image of the gallery rows (by default the training split, which a search
library would also hold); the queries are the held-out rows (the `val` split, else a patient-grouped share
of train). A query's own patient is never its neighbour.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from tqdm import tqdm

from ..datasets import ManifestRecord, embedding_text, source_of
from ..datasets.label_text import label_sentence, label_vocabularies
from ..errors import UnreadableImage
from ..imaging import Radiograph, read
from ..models import Encoder
from .encoders import ModelEncoder, baseline_encoders
from .retrieval import Gallery, RetrievalReport, score_encoder

log = logging.getLogger(__name__)


def decode_records(records: Sequence[ManifestRecord], progress: bool = False,
                   desc: str = "decode") -> tuple[list[ManifestRecord], list[Radiograph]]:
    """The records whose image can be read, and their radiographs; unreadable ones are logged and dropped."""
    kept, images = [], []
    for record in tqdm(list(records), desc=desc, unit="img", disable=not progress):
        try:
            images.append(read(record.path))
        except UnreadableImage as e:
            log.warning("skipping %s", e)
            continue
        kept.append(record)
    return kept, images


def records_gallery(records: Sequence[ManifestRecord]) -> Gallery:
    """A gallery of manifest rows: ids are row numbers, patients are the manifest's own ids."""
    reported = {}
    for n, record in enumerate(records):
        if record.report and record.study_id not in reported:
            reported[record.study_id] = n
    return Gallery(ids=np.arange(len(records), dtype=np.int64), paths=[r.path for r in records],
                    frames=[0] * len(records), labels=[list(r.labels) for r in records],
                    patients=np.array([r.patient_id or "" for r in records], dtype=object),
                    splits=[r.split or "train" for r in records], report_ids=list(reported.values()),
                    reports=[records[n].report for n in reported.values()], report_studies=list(reported),
                    sources=[source_of(r) for r in records])


def evaluate_holdout(model: Encoder, gallery: Sequence[ManifestRecord], queries: Sequence[ManifestRecord],
                     baselines: Sequence[str] = ("pixels", "random-init"), k: int = 10, seed: int = 0,
                     progress: bool = False, decoded: dict[str, Radiograph] | None = None,
                     label_queries: bool | None = None) -> RetrievalReport:
    """Score `model` and each baseline on the same gallery and queries (decoded once, embedded by each).

    The gallery's rows take split "train" for the linear probe unless they carry another; `decoded` may
    hold radiographs already read, by path. With `label_queries` (default: when the model learned label
    sentences) a query without a report searches by text with the sentence built from its labels, so
    text search is measured on archives without reports too.
    """
    if label_queries is None:
        label_queries = bool(getattr(model, "info", {}).get("label_text"))
    if label_queries:
        vocabularies = label_vocabularies(list(gallery) + list(queries))
        queries = [r if r.report else replace(r, report=label_sentence(r, vocabularies)) for r in queries]
    cache = dict(decoded or {})
    for rows in (gallery, queries):
        missing = [r for r in rows if r.path not in cache]
        kept, images = decode_records(missing, progress)
        cache.update({r.path: image for r, image in zip(kept, images)})
    gallery = [r for r in gallery if r.path in cache]
    queries = [r for r in queries if r.path in cache]
    if not gallery or not queries:
        raise ValueError("no readable gallery or query image to evaluate on")
    table = records_gallery(gallery)
    gallery_images = [cache[r.path] for r in gallery]
    query_images = [cache[r.path] for r in queries]
    row_of = {r.path: n for n, r in enumerate(gallery)}
    own_ids = [row_of.get(r.path) for r in queries]
    patients = [r.patient_id or None for r in queries]
    results = []
    for encoder in [ModelEncoder("model", model)] + baseline_encoders(model, baselines, seed):
        vectors = encoder.images(gallery_images)
        reports = (encoder.texts([embedding_text(t, encoder.report_sections) for t in table.reports])
                   if encoder.has_text and table.reports else None)
        results.append(score_encoder(encoder, table, vectors, reports, list(queries), query_images, patients,
                                     own_ids, k, progress))
    return RetrievalReport(k=k, queries=len(queries), paired_queries=sum(1 for i in own_ids if i is not None),
                           model=results[0], baselines=results[1:])
