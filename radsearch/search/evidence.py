"""Why a result matched: the sentence of its report nearest to the query, located in the report text."""

from __future__ import annotations

import numpy as np

from ..storage import Catalog
from .hits import Evidence


def nearest_sentences(catalog: Catalog, dim: int, vector: np.ndarray, texts: dict[int, str]) -> dict[int, Evidence]:
    """Report id -> its sentence nearest to the query vector, with the sentence's span in the report text
    `texts` holds for that id."""
    out = {}
    for report_id, sentences in catalog.sentences_of(list(texts), dim).items():
        scores = [float(sentence.vector @ vector) for sentence in sentences]
        top = sentences[int(np.argmax(scores))]
        start = texts.get(report_id, "").find(top.text)
        out[report_id] = Evidence(top.text, top.section, max(scores), start,
                                  start + len(top.text) if start >= 0 else -1)
    return out
