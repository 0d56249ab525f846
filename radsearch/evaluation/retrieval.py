"""`evaluate`: retrieval quality of a library on a query manifest (image->image, text->image, image->report)."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..datasets import embedding_text, read_manifest
from ..errors import UnreadableImage
from ..indexer import content_hash
from ..search import Library
from .metrics import average_precision_at_k, label_set, precision_at_k, recall_at_k, relevant

log = logging.getLogger(__name__)


@dataclass
class RetrievalReport:
    k: int
    queries: int
    image_precision_at_k: float  # image->image, by label overlap, query's own patient excluded
    image_map_at_k: float
    text_precision_at_k: float | None  # own report's impression -> images, by label overlap with the query
    text_recall_at_k: float | None  # own report -> own image among the top k (queries in the library)
    report_recall_at_k: float | None  # own image -> own study's report among the top k
    paired_queries: int  # queries found in the library, used by the two recall figures

    def to_dict(self) -> dict:
        return asdict(self)

    def table(self) -> str:
        def fmt(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.3f}"
        k = self.k
        rows = [(f"image->image precision@{k}", fmt(self.image_precision_at_k)),
                (f"image->image mAP@{k}", fmt(self.image_map_at_k)),
                (f"text->image precision@{k}", fmt(self.text_precision_at_k)),
                (f"text->image recall@{k}", fmt(self.text_recall_at_k)),
                (f"image->report recall@{k}", fmt(self.report_recall_at_k)),
                ("queries", str(self.queries)), ("queries found in library", str(self.paired_queries))]
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def evaluate(library: Library, queries: str | Path, k: int = 10, split: str | None = "test",
             progress: bool = True) -> RetrievalReport:
    """Score a library with the rows of a query manifest (only `split` rows, when it is given).

    Each query excludes its own patient from image->image results, so a patient's other
    studies never count as a match.
    """
    records = [r for r in read_manifest(queries) if split is None or not r.split or r.split == split]
    if not records:
        raise ValueError(f"no queries in {queries}" + (f" with split {split!r}" if split else ""))
    gallery = _gallery(library)
    precisions, aps, text_precisions, text_recalls, report_recalls = [], [], [], [], []
    for record in tqdm(records, desc="eval", unit="query", disable=not progress):
        try:
            vector = library.embed_images([record.path])[0]
        except UnreadableImage as e:
            log.warning("skipping query: %s", e)
            continue
        where = {"patient_id": {"not": record.patient_id}} if record.patient_id else None
        hits = library.search_vector(vector, k, where=where)
        relevance = [relevant(record.labels, hit.labels) for hit in hits]
        n_relevant = sum(count for labels, count in gallery.items()
                         if label_set(record.labels) & labels) - _own_patient_relevant(library, record)
        precisions.append(precision_at_k(relevance, k))
        aps.append(average_precision_at_k(relevance, k, n_relevant))
        if record.report:
            # the report is queried as it is indexed: by its impression (datasets.embedding_text)
            text_hits = library.search_text(embedding_text(record.report), k)
            text_precisions.append(precision_at_k([relevant(record.labels, h.labels) for h in text_hits], k))
        own_id = library.find_by_hash(content_hash(Path(record.path)))
        if own_id is not None and record.report:
            text_recalls.append(recall_at_k([h.id for h in text_hits], own_id, k))
            report_hits = library.search_reports_vector(vector, k)
            report_recalls.append(1.0 if any(h.study_key == record.study_id for h in report_hits) else 0.0)
    return RetrievalReport(
        k=k, queries=len(precisions), image_precision_at_k=_mean(precisions), image_map_at_k=_mean(aps),
        text_precision_at_k=_mean(text_precisions) if text_precisions else None,
        text_recall_at_k=_mean(text_recalls) if text_recalls else None,
        report_recall_at_k=_mean(report_recalls) if report_recalls else None, paired_queries=len(text_recalls))


def _gallery(library: Library) -> Counter:
    """How many library images carry each label set (for AP's denominator)."""
    ids = library.store.catalog.ids("images")
    rows = library.store.catalog.image_rows(ids.tolist())
    return Counter(label_set(row["labels"]) for row in rows.values())


def _own_patient_relevant(library: Library, record) -> int:  # noqa: ANN001
    """Relevant gallery images that belong to the query's own patient (excluded from results)."""
    if not record.patient_id:
        return 0
    with library.store.catalog.session() as s:
        ids = list(s.scalars(library.store.image_filter({"patient_id": record.patient_id})))
    rows = library.store.catalog.image_rows(ids)
    return sum(1 for row in rows.values() if relevant(record.labels, row["labels"]))


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else 0.0
