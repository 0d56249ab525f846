"""Exact and near duplicates, grouped into clusters with a suggested keeper.

Exact: files with the same content hash (the indexer keeps one image and records the other files
as copies). Near: FAISS k-nearest neighbours by model embedding and by pixel fingerprint give the
candidate pairs; each is verified on pixels (curation.verify); verified pairs are joined into
clusters (connected components), never by comparing all pairs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from tqdm import tqdm

from ..imaging.fidelity import fidelity
from ..storage import ImageRecord, LibraryStore
from ..storage.thumbnails import thumbnail_pixels
from .fingerprint import library_fingerprints, whiten
from .neighbours import knn_graph
from .verify import THRESHOLD, match_score

log = logging.getLogger(__name__)

# Defaults, each with its reason.
CANDIDATES = 10  # neighbours per image from each of the two kNN graphs (embedding, fingerprint)
MIN_COSINE = 0.5  # candidate pairs below this embedding cosine are not worth a pixel check
PREVIEW_CACHE = 4096  # decoded previews kept while verifying: each image is in ~2 * CANDIDATES pairs


@dataclass
class DuplicateGroup:
    """Images (and duplicate files) that are one picture; `members[0]` is the suggested keeper."""

    kind: str  # "exact" (same file content) or "near" (verified on pixels)
    members: list[dict[str, Any]] = field(default_factory=list)  # image_id (None for a copy file), path, score

    @property
    def keeper(self) -> dict[str, Any]:
        return self.members[0]


def exact_duplicates(store: LibraryStore) -> list[DuplicateGroup]:
    """One group per indexed image that has duplicate files: the image first, then its copies."""
    groups: dict[int, list[dict[str, Any]]] = {}
    for copy in store.catalog.copies():
        groups.setdefault(copy.image_id, []).append(copy)
    rows = store.catalog.get(sorted(groups), columns=("patient_id", "split"), labels=False, report=False)
    out = []
    for image_id, copies in sorted(groups.items()):
        row = rows[image_id]
        keeper = {"image_id": image_id, "path": row.path, "score": 1.0, "patient_id": row.metadata["patient_id"],
                  "study_key": row.study_key, "split": row.metadata["split"]}
        out.append(DuplicateGroup("exact", [keeper] + [
            {"image_id": None, "path": c.path, "score": 1.0, "patient_id": c.patient_id or keeper["patient_id"],
             "study_key": c.study_key or keeper["study_key"], "split": c.split or keeper["split"]}
            for c in copies]))
    return out


def candidate_pairs(store: LibraryStore, ids: np.ndarray, vectors: np.ndarray, k: int = CANDIDATES,
                    progress: bool = True) -> dict[tuple[int, int], float]:
    """(smaller id, larger id) -> embedding cosine, from both kNN graphs (each pair once)."""
    fingerprints = whiten(library_fingerprints(store, ids, progress))
    pairs: dict[tuple[int, int], float] = {}
    position = {int(i): n for n, i in enumerate(ids)}
    for graph in (knn_graph(ids, vectors, k)[0], knn_graph(ids, fingerprints, k)[0]):
        for row, neighbours in zip(ids.tolist(), graph.tolist()):
            for other in neighbours:
                if other < 0 or other == row:
                    continue
                key = (min(row, other), max(row, other))
                if key not in pairs:
                    pairs[key] = float(vectors[position[key[0]]] @ vectors[position[key[1]]])
    return {key: cosine for key, cosine in pairs.items() if cosine >= MIN_COSINE}


def near_duplicates(store: LibraryStore, ids: np.ndarray, vectors: np.ndarray, k: int = CANDIDATES,
                    threshold: float = THRESHOLD, progress: bool = True) -> list[DuplicateGroup]:
    """Groups of indexed images that are re-encoded, resized or slightly cropped copies of each other."""
    pairs = candidate_pairs(store, ids, vectors, k, progress)
    cache: dict[int, np.ndarray | None] = {}

    def pixels(image_id: int) -> np.ndarray | None:
        if image_id not in cache:
            if len(cache) >= PREVIEW_CACHE:
                cache.pop(next(iter(cache)))
            cache[image_id] = thumbnail_pixels(store, image_id)
        return cache[image_id]

    verified: dict[tuple[int, int], float] = {}
    for (a, b) in tqdm(sorted(pairs), desc="verify pairs", unit="pair", disable=not progress or not pairs):
        pa, pb = pixels(a), pixels(b)
        if pa is None or pb is None:
            continue
        score = match_score(pa, pb)
        if score >= threshold:
            verified[(a, b)] = score
    log.info("near duplicates: %d candidate pairs, %d verified", len(pairs), len(verified))
    return _clusters(store, verified)


def _clusters(store: LibraryStore, verified: dict[tuple[int, int], float]) -> list[DuplicateGroup]:
    if not verified:
        return []
    members = sorted({i for pair in verified for i in pair})
    index = {image_id: n for n, image_id in enumerate(members)}
    a = np.array([index[p[0]] for p in verified])
    b = np.array([index[p[1]] for p in verified])
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(len(members), len(members)))
    _, component = connected_components(graph, directed=False)
    rows = store.catalog.get(members)
    groups: dict[int, list[int]] = {}
    for image_id, c in zip(members, component.tolist()):
        groups.setdefault(c, []).append(image_id)
    out = []
    for group in groups.values():
        ordered = sorted(group, key=lambda i: _keeper_rank(rows[i]))
        keeper = ordered[0]
        out.append(DuplicateGroup("near", [
            {"image_id": i, "path": rows[i].path, "patient_id": rows[i].metadata["patient_id"],
             "study_key": rows[i].study_key, "split": rows[i].metadata["split"],
             "score": 1.0 if i == keeper else _best_match(i, group, verified)}
            for i in ordered]))
    return sorted(out, key=lambda g: g.keeper["image_id"])


def _best_match(image_id: int, group: list[int], verified: dict[tuple[int, int], float]) -> float:
    """The highest verified score of an image with another member of its cluster."""
    return max(verified.get((min(image_id, j), max(image_id, j)), 0.0) for j in group if j != image_id)


def _keeper_rank(row: ImageRecord) -> tuple:
    """Which copy to keep: the most faithful (lossless, then the original bit depth, then the most pixels:
    imaging.fidelity), then DICOM over exports, then one with a report and labels."""
    meta = row.metadata
    dicom = row.path.lower().endswith((".dcm", ".dicom")) or bool(meta.get("sop_uid"))
    faithful = fidelity(row.path, meta["width"] or 0, meta["height"] or 0)
    return (*faithful.rank(), not dicom, row.report is None, not row.labels, row.id)
