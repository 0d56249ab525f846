"""`Library.curate`: every curation check over a library (or the part of it a filter selects)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ..models import Encoder
from ..storage import LibraryStore
from . import duplicates as dup
from . import embedding_map, export, labelnoise, leakage, outliers

OUTLIER_CHECKS = ("anatomy", "inverted", "window", "text")


class Curator:
    """Duplicates, leakage, outliers, label noise, a browsing map and a clean export for one library."""

    def __init__(self, store: LibraryStore, encoder: Callable[[], Encoder], progress: bool = False) -> None:
        self.store = store
        self._encoder = encoder  # called only by the inversion check, the one that needs the encoder
        self.progress = progress

    def _ids(self, where: dict[str, Any] | None) -> list[int] | None:
        """Ids of the images a filter selects; None (every image) without one."""
        if not where:
            return None
        return self.store.catalog.matching_ids(self.store.catalog.filter(where))

    def _vectors(self, where: dict[str, Any] | None) -> tuple[np.ndarray, np.ndarray]:
        return self.store.catalog.embeddings("images", self._ids(where), self.store.config.embed_dim)

    def exact_duplicates(self) -> list[dup.DuplicateGroup]:
        """Files with identical content: the indexed image first (keep), then its copies (drop)."""
        return dup.exact_duplicates(self.store)

    def near_duplicates(self, where: dict[str, Any] | None = None, k: int = dup.CANDIDATES,
                        threshold: float = dup.THRESHOLD) -> list[dup.DuplicateGroup]:
        """Re-encoded, resized or slightly cropped copies among indexed images, verified on pixels."""
        ids, vectors = self._vectors(where)
        return dup.near_duplicates(self.store, ids, vectors, k, threshold, self.progress)

    def duplicates(self, where: dict[str, Any] | None = None, near: bool = True, k: int = dup.CANDIDATES,
                   threshold: float = dup.THRESHOLD) -> list[dup.DuplicateGroup]:
        """Exact groups, then near groups; each group's first member is the suggested keeper."""
        groups = self.exact_duplicates()
        return groups + (self.near_duplicates(where, k, threshold) if near else [])

    def leakage(self, manifest: str | Path | None = None, near: bool = True,
                groups: Sequence[dup.DuplicateGroup] | None = None) -> list[dict[str, Any]]:
        """Patients and duplicates found in more than one split (the library's, or a manifest's by path)."""
        if groups is None:
            groups = self.duplicates(near=near)
        overrides = leakage.split_overrides(self.store, manifest) if manifest else None
        return leakage.find_leakage(self.store, list(groups), overrides)

    def outliers(self, where: dict[str, Any] | None = None,
                 checks: Sequence[str] = OUTLIER_CHECKS) -> list[dict[str, Any]]:
        """Wrong anatomy, inverted, badly windowed and burned-in text, each with a score and a reason."""
        unknown = set(checks) - set(OUTLIER_CHECKS)
        if unknown:
            raise ValueError(f"unknown outlier check(s) {', '.join(sorted(unknown))}; "
                             f"choose from {', '.join(OUTLIER_CHECKS)}")
        ids, vectors = self._vectors(where)
        rows = self.store.catalog.get(ids)
        parts = {i: r.metadata["body_part"] for i, r in rows.items()}
        found: list[dict[str, Any]] = []
        flipped: set[int] = set()
        if "anatomy" in checks or "inverted" in checks:
            model = self._encoder() if "inverted" in checks else None
            anatomy, inverted = outliers.anatomy_and_inversion(
                self.store, ids, vectors, rows, model.encode_image if model else None,
                model.profile if model else None)
            flipped = {r["image_id"] for r in inverted}
            found += (inverted if "inverted" in checks else []) + (anatomy if "anatomy" in checks else [])
        if "window" in checks or "text" in checks:
            pixel = outliers.pixel_outliers(self.store, ids.tolist(), parts, self._bar)
            wanted = {"window": "bad_window", "text": "burned_in_text"}
            found += [r for r in pixel if r["problem"] in {wanted[c] for c in checks if c in wanted}
                      and not (r["problem"] == "bad_window" and r["image_id"] in flipped)]
        for row in found:
            row["path"] = rows[row["image_id"]].path
            row["action"] = "review"
        return sorted(found, key=lambda r: (r["problem"], -r["score"], r["image_id"]))

    def label_noise(self, where: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Labels the report or the image's neighbours contradict, most confident first."""
        ids, vectors = self._vectors(where)
        rows = self.store.catalog.get(ids)
        found = labelnoise.label_noise(ids, vectors, rows)
        for row in found:
            row["path"] = rows[row["image_id"]].path
            row["action"] = "review"
        return found

    def map(self, where: dict[str, Any] | None = None, method: str = "auto",
            clusters: int | None = None) -> list[dict[str, Any]]:
        """Each image's 2-D map position and cluster, with its body part and labels, for browsing."""
        ids, vectors = self._vectors(where)
        xy, used = embedding_map.project_2d(vectors, method)
        groups = embedding_map.cluster(vectors, clusters, kmeans=self.store.backend.kmeans)
        rows = self.store.catalog.get(ids, columns=("body_part",), report=False)
        return [{"image_id": int(i), "path": rows[int(i)].path, "x": float(x), "y": float(y), "cluster": int(c),
                 "body_part": rows[int(i)].metadata["body_part"], "labels": "|".join(rows[int(i)].labels),
                 "method": used} for i, (x, y), c in zip(ids, xy, groups)]

    def export(self, out: str | Path, where: dict[str, Any] | None = None,
               exclude: Sequence[str | Path] = (), ids: Sequence[int] | None = None) -> tuple[Path, int]:
        """Write a manifest of the images the filter selects (or of these ids) minus those the exclusion CSVs
        drop."""
        drop = export.excluded_ids(exclude)
        ids = list(ids) if ids is not None else self._ids(where)
        if ids is None:
            ids = self.store.catalog.ids("images").tolist()
        rows = self.store.catalog.get([i for i in ids if i not in drop])
        path = export.write_export(rows, out)
        return path, len({r.path for r in rows.values()})

    def _bar(self, items: Sequence, **kwargs: Any) -> Any:
        return tqdm(items, disable=not self.progress, **kwargs)
