"""`Library`: the search API over one library directory (image->image, text->image, ->report)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Union

import numpy as np
from sqlalchemy import select

from ..errors import ModelDirError
from ..imaging import Radiograph, preprocess, read
from ..models import RadsearchModel
from ..storage import Image, LibraryStore
from .hits import Hit, ReportHit

ImageQuery = Union[str, Path, bytes, Radiograph, np.ndarray]


class Library:
    """An opened library. The model loads on first use; the vector indexes when first searched."""

    def __init__(self, store: LibraryStore) -> None:
        self.store = store
        self._model: RadsearchModel | None = None

    @property
    def path(self) -> Path:
        return self.store.root

    @property
    def model(self) -> RadsearchModel:
        if self._model is None:
            model = RadsearchModel.from_pretrained(self.store.model_path)
            self.store.check_model(model.model_id, model.profile.hash)
            self._model = model
        return self._model

    # -- embedding -------------------------------------------------------------------------------
    def embed_images(self, images: Sequence[ImageQuery]) -> np.ndarray:
        """Unit vectors (n, D) for paths, bytes, Radiographs or 2-D pixel arrays in [0, 1]."""
        batch = np.stack([preprocess(_as_radiograph(image), self.model.profile) for image in images])
        return self.model.encode_image(batch)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors (n, D) for texts; refused when the model's text tower never learned (ssl-only)."""
        trained = self.model.info.get("trained_towers")
        if trained is not None and "text" not in trained:
            raise ModelDirError(
                f"the model of {self.path} was trained without reports (recipe {self.model.info.get('recipe')}), "
                "so text queries mean nothing to it; search by image, or train with a contrastive recipe"
            )
        return self.model.encode_text(list(texts))

    # -- search ----------------------------------------------------------------------------------
    def search_image(self, image: ImageQuery, k: int = 10, where: dict[str, Any] | None = None) -> list[Hit]:
        """The k images most similar to `image`, optionally restricted by metadata filters."""
        return self._image_hits(self.embed_images([image])[0], k, where)

    def search_text(self, text: str, k: int = 10, where: dict[str, Any] | None = None) -> list[Hit]:
        """The k images whose embedding best matches a free-text description."""
        if not text or not text.strip():
            raise ValueError("a text query needs some text")
        return self._image_hits(self.embed_texts([text])[0], k, where)

    def search_reports(self, query: ImageQuery | str, k: int = 10) -> list[ReportHit]:
        """The k reports closest to an image or to a text (a str that is not an existing file is text)."""
        if isinstance(query, str) and not Path(query).is_file():
            vector = self.embed_texts([query])[0]
        else:
            vector = self.embed_images([query])[0]
        return self.search_reports_vector(vector, k)

    def search_reports_vector(self, vector: np.ndarray, k: int = 10) -> list[ReportHit]:
        """Reports closest to an embedding you already have."""
        scores, ids = self.store.vectors("reports").search(np.asarray(vector, dtype=np.float32), k)
        found = [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]
        rows = self.store.catalog.report_rows([i for i, _ in found])
        return [ReportHit(score=score, **rows[i]) for i, score in found if i in rows]

    def search_vector(self, vector: np.ndarray, k: int = 10, where: dict[str, Any] | None = None) -> list[Hit]:
        """Search with an embedding you already have (e.g. a stored image's, or an average)."""
        return self._image_hits(np.asarray(vector, dtype=np.float32), k, where)

    def _image_hits(self, vector: np.ndarray, k: int, where: dict[str, Any] | None) -> list[Hit]:
        allowed = None
        if where:
            with self.store.catalog.session() as s:
                allowed = np.fromiter(s.scalars(self.store.image_filter(where)), dtype=np.int64)
            if len(allowed) == 0:
                return []
        index = self.store.vectors("images")
        scores, ids = index.search(vector, k, allowed=allowed)
        found = [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]
        if allowed is not None and not index.exact and len(found) < min(k, len(allowed)):
            found = self._exact_among(vector, allowed, k)  # a graph search can run dry under a tight filter
        rows = self.store.catalog.image_rows([i for i, _ in found])
        thumbs = self.store.paths["thumbs"]
        hits = []
        for image_id, score in found:
            row = rows.get(image_id)
            if row is None:  # removed from the catalog since the index was loaded
                continue
            thumb = thumbs / f"{image_id}.png"
            hits.append(Hit(id=image_id, score=score, path=row["path"], study_key=row["study_key"],
                            metadata=row["metadata"], labels=row["labels"], report=row["report"],
                            thumbnail=str(thumb) if thumb.is_file() else None))
        return hits

    def _exact_among(self, vector: np.ndarray, allowed: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Brute-force top k among the allowed images, from the embeddings the catalog stores."""
        ids, vectors = self.store.catalog.embeddings("images", allowed.tolist(), self.store.config.embed_dim)
        scores = vectors @ np.asarray(vector, dtype=np.float32)
        order = np.argsort(-scores, kind="stable")[:k]
        return [(int(ids[i]), float(scores[i])) for i in order]

    # -- facts -----------------------------------------------------------------------------------
    def image_vector(self, image_id: int) -> np.ndarray:
        """The stored embedding of an indexed image."""
        ids, vectors = self.store.catalog.embeddings("images", [image_id], self.store.config.embed_dim)
        if not len(ids):
            raise KeyError(f"no image with id {image_id} in {self.path}")
        return vectors[0]

    def find_by_hash(self, content_hash: str) -> int | None:
        """The id of an indexed file's image (its first frame), or None."""
        with self.store.catalog.session() as s:
            return s.scalar(select(Image.id).where(Image.content_hash == content_hash).order_by(Image.frame))

    def header(self, image_id: int) -> dict[str, Any]:
        """The stored DICOM header (DICOM JSON, without pixels or identities); {} for non-DICOM images."""
        with self.store.catalog.session() as s:
            image = s.get(Image, int(image_id))
            if image is None:
                raise KeyError(f"no image with id {image_id} in {self.path}")
            return json.loads(image.header) if image.header else {}

    def stats(self) -> dict[str, Any]:
        counts = self.store.counts()
        return {"images": counts["images"], "reports": counts["reports"], "report_sentences": counts["sentences"],
                "model_id": self.store.config.model_id,
                "index": self.store.config.index_spec,
                "body_parts": self.store.catalog.distinct("body_part"), "views": self.store.catalog.distinct("view")}

    def filter_choices(self, column: str) -> list[str]:
        return self.store.catalog.distinct(column)


def _as_radiograph(image: ImageQuery) -> Radiograph:
    if isinstance(image, Radiograph):
        return image
    if isinstance(image, np.ndarray):
        return Radiograph(pixels=image)
    return read(image)


def open_library(path: str | Path) -> Library:
    """Open a library directory; it needs nothing but its own radsearch.toml and files."""
    return Library(LibraryStore.open(path))
