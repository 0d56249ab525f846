"""`Library`: the search API over one library directory (image->image, text->image, ->report)."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import numpy as np
from sqlalchemy import Select, func, select

from ..curation import Curator
from ..errors import InvalidFilter, ModelDirError
from ..heads import Explanation, HeadPrediction, HeadRegistry, explain
from ..heads.localise import OCCLUSION_GRID
from ..imaging import Radiograph, preprocess, read, read_frame
from ..indexer.scan import content_hash
from ..models import RadsearchModel
from ..storage import Image, LibraryStore, Report, Study
from .audit import audited
from .draft import Case, Draft, Generator, draft_from_cases
from .hits import Evidence, GroupHit, Hit, ReportHit
from .query import names_a_file, parse_text_query

ImageQuery = Union[str, Path, bytes, Radiograph, np.ndarray]
SENTENCES_PER_REPORT = 4  # sentence hits fetched per report wanted, before fetching more
NEGATION_POOL, NEGATION_MIN_POOL = 20, 200  # candidates re-ranked for a query with negated phrases
NEGATION_WEIGHT = 1.0  # how hard a match to a negated phrase pushes a result down
GROUP_POOL = 10  # images retrieved per study or patient wanted, before grouping
OVERFETCH_SHARE = 0.05  # filters matching at least this share post-filter an over-fetched search; below it the
# id selector is faster (crossover measured at 200k images: benchmarks/filters.py)
OVERFETCH_MARGIN = 2.0  # fetched = k / share x this; too few matches among them falls back to the id selector
DRAFT_CASES = 10  # reported studies a draft is built from


@dataclass
class FilterPlan:
    """A metadata filter ready to apply: its SQL, how many images match and their share of the library."""

    query: Select
    matching: int
    share: float
    allowed: np.ndarray | None = None  # the matching ids, fetched only when the id selector is used


class Library:
    """An opened library. The model loads on first use; the vector indexes when first searched."""

    def __init__(self, store: LibraryStore) -> None:
        self.store = store
        self._model: RadsearchModel | None = None
        self._heads: HeadRegistry | None = None

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

    @property
    def heads(self) -> HeadRegistry:
        """The library's task heads: train, list, get, remove, store predictions (radsearch.heads)."""
        if self._heads is None:
            self._heads = HeadRegistry(self.store, self.embed_texts,
                                       lambda: float(self.model.dual.logit_scale.exp().item()))
        return self._heads

    @property
    def curate(self) -> Curator:
        """Dataset curation: duplicates, leakage, outliers, label noise, map, export (radsearch.curation)."""
        return Curator(self.store, lambda: self.model)

    # -- task heads ------------------------------------------------------------------------------
    def predict(self, image: ImageQuery | int, head: str) -> HeadPrediction:
        """A head's answer for an image: a new file, bytes or pixels, or the id of an indexed image
        (which reuses its stored embedding)."""
        model_head = self.heads.get(head)
        return model_head.predict(self._query_vector(image)[None])[0]

    def predict_indexed(self, image_ids: Sequence[int], head: str) -> dict[int, HeadPrediction]:
        """A head's answers for many indexed images at once, from their stored embeddings (a result page)."""
        model_head = self.heads.get(head)
        ids, vectors = self.store.catalog.embeddings("images", image_ids, self.store.config.embed_dim)
        return {int(i): answer for i, answer in zip(ids, model_head.predict(vectors))} if len(ids) else {}

    def explain(self, image: ImageQuery | int, text: str | None = None, head: str | None = None,
                target: str | None = None, method: str = "occlusion", grid: int = OCCLUSION_GRID) -> Explanation:
        """Where in the image a text phrase, or a head's target, is matched (heads.localise). A phrase
        is contrasted with its absence ("no <phrase>"); a head without `target` explains its first
        positive target (its first target when none is positive)."""
        if (text is None) == (head is None):
            raise ValueError("explain a text or a head, one of the two")
        radiograph = self._radiograph(image)
        if text is not None:
            if not text.strip():
                raise ValueError("a text to explain needs some text")
            # against its absence, so what every film of that anatomy shares does not light up
            wanted, absent = self.embed_texts([text, f"no {text.strip()}"])
            return explain(self.model, radiograph, wanted - absent, query=text, method=method, grid=grid)
        model_head = self.heads.get(head)
        vector = self.embed_images([radiograph])[0]
        if target is None:
            answer = model_head.predict(vector[None])[0]
            target = (answer.positive or model_head.targets)[0]
        return explain(self.model, radiograph, model_head.direction(vector, target), query=f"{head}: {target}",
                       method=method, grid=grid)

    def _query_vector(self, image: ImageQuery | int) -> np.ndarray:
        if isinstance(image, (int, np.integer)):
            return self.image_vector(int(image))
        return self.embed_images([image])[0]

    def _radiograph(self, image: ImageQuery | int) -> Radiograph:
        if not isinstance(image, (int, np.integer)):
            return _as_radiograph(image)
        with self.store.catalog.session() as s:
            row = s.get(Image, int(image))
            if row is None:
                raise KeyError(f"no image with id {image} in {self.path}")
            path, frame = row.path, row.frame or 0
        return read_frame(path, frame)

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
    @audited("search_image")
    def search_image(self, image: ImageQuery, k: int = 10, where: dict[str, Any] | None = None,
                     include_own: bool = False) -> list[Hit]:
        """The k images most similar to `image`, optionally restricted by metadata filters.

        When the query is a file already in the library, its own patient's and study's images are left
        out (they would fill the first ranks and teach nothing); include_own=True keeps them.
        """
        skip = frozenset() if include_own else self._own_images(image)
        return self._image_hits(self.embed_images([image])[0], k, where, skip=skip)

    @audited("search_like")
    def search_like(self, image_id: int, k: int = 10, where: dict[str, Any] | None = None,
                    include_own: bool = False) -> list[Hit]:
        """Images similar to an indexed one (the UI's "Similar"), its patient and study left out by default."""
        skip = frozenset() if include_own else self._same_case(int(image_id))
        return self._image_hits(self.image_vector(image_id), k, where, skip=skip)

    @audited("search_examples")
    def search_examples(self, positive: Sequence[ImageQuery | int], negative: Sequence[ImageQuery | int] = (),
                        k: int = 10, where: dict[str, Any] | None = None, combine: str = "mean",
                        include_own: bool = False) -> list[Hit]:
        """More like these, less like those: images or library image ids as positive and negative examples.

        combine="mean" searches from the examples' average (several cases of one finding);
        combine="max" lets each example bring its own neighbours and scores a result by its best
        match (the views of one study: a PA finds PAs, a lateral finds laterals). Results matching a
        negative example are pushed down as negated text is. The examples' own patients and studies
        are left out unless include_own.
        """
        if combine not in ("mean", "max"):
            raise ValueError(f"combine examples by 'mean' or 'max', not {combine!r}")
        wanted = self._example_vectors(positive)
        if not len(wanted):
            raise ValueError("give at least one positive example")
        unwanted = self._example_vectors(negative)
        skip = frozenset() if include_own else frozenset().union(*(self._own_of(e) for e in [*positive, *negative]))
        if combine == "mean":
            centre = wanted.mean(axis=0)
            wanted = (centre / max(float(np.linalg.norm(centre)), 1e-12))[None]
        return self._image_hits(wanted, k, where, avoid=unwanted if len(unwanted) else None, skip=skip)

    @audited("draft_report")
    def draft_report(self, image: ImageQuery, k: int = DRAFT_CASES, where: dict[str, Any] | None = None,
                     generator: Generator | None = None, include_own: bool = False) -> Draft:
        """A report draft from the k most similar reported studies (search.draft): cited sentences the
        cases agree on, or a statement that they disagree. `generator` replaces the consensus text with
        a site's own (it receives the query, the cases and the consensus draft)."""
        studies = self.search_cases(image, 2 * k, where, by="study", include_own=include_own)
        reported = [g for g in studies if g.hits[0].report][:k]
        with self.store.catalog.session() as s:
            query = (select(Study.study_key, Report.id).join(Report, Report.study_id == Study.id)
                     .where(Study.study_key.in_([g.key for g in reported])))
            report_ids = {key: report_id for key, report_id in s.execute(query)}
        sentences = self.store.catalog.sentences_of(list(report_ids.values()), self.store.config.embed_dim)
        cases = [Case(g.key, g.score, g.hits[0].report or "",
                      [(x["section"], x["text"], x["vector"]) for x in sentences.get(report_ids.get(g.key), [])])
                 for g in reported]
        return draft_from_cases(cases, generator, query=str(image) if isinstance(image, (str, Path)) else "image")

    def _example_vectors(self, examples: Sequence[ImageQuery | int]) -> np.ndarray:
        ids = [e for e in examples if isinstance(e, (int, np.integer))]
        images = [e for e in examples if not isinstance(e, (int, np.integer))]
        parts = [self.image_vector(int(i))[None] for i in ids] + ([self.embed_images(images)] if images else [])
        return np.concatenate(parts) if parts else np.zeros((0, self.store.config.embed_dim), np.float32)

    def _own_of(self, example: ImageQuery | int) -> frozenset[int]:
        return self._same_case(int(example)) if isinstance(example, (int, np.integer)) else self._own_images(example)

    @audited("search_cases")
    def search_cases(self, query: ImageQuery | str, k: int = 10, where: dict[str, Any] | None = None,
                     by: str = "study", score: str = "max", include_own: bool = False) -> list[GroupHit]:
        """The k studies (by="study") or patients (by="patient") whose images best match the query.

        The top GROUP_POOL x k images are grouped; a group scores the max or the mean of its images'
        scores among them. Text queries take a str that is not an existing file.
        """
        if by not in ("study", "patient") or score not in ("max", "mean"):
            raise ValueError(f"group by 'study' or 'patient' with score 'max' or 'mean', not {by!r}/{score!r}")
        if _is_text(query):
            hits = self.search_text(query, k * GROUP_POOL, where)
        else:
            hits = self.search_image(query, k * GROUP_POOL, where, include_own=include_own)
        groups: dict[str, list[Hit]] = {}
        for hit in hits:
            key = hit.study_key if by == "study" else (hit.metadata.get("patient_id") or hit.study_key)
            groups.setdefault(key, []).append(hit)
        combine = max if score == "max" else (lambda values: sum(values) / len(values))
        ranked = [GroupHit(key, float(combine([h.score for h in members])), members) for key, members in groups.items()]
        return sorted(ranked, key=lambda group: -group.score)[:k]

    @audited("search_text")
    def search_text(self, text: str, k: int = 10, where: dict[str, Any] | None = None) -> list[Hit]:
        """The k images whose embedding best matches a free-text description.

        Negated phrases ("effusion without pneumothorax", "..., no nodule") are searched for apart:
        among the images nearest the wanted findings, those that also match a negated phrase are
        pushed down (score = similarity to the wanted text - NEGATION_WEIGHT x the highest similarity
        to a negated phrase). A query that is all negation ("no pneumothorax") is searched as written.
        """
        if not text or not text.strip():
            raise ValueError("a text query needs some text")
        query = parse_text_query(text)
        if not query.negated or not query.positive:
            return self._image_hits(self.embed_texts([text])[0], k, where)
        vectors = self.embed_texts([query.positive, *query.negated])
        return self._image_hits(vectors[0], k, where, avoid=vectors[1:])

    @audited("search_reports")
    def search_reports(self, query: ImageQuery | str, k: int = 10, include_own: bool = False) -> list[ReportHit]:
        """The k reports closest to an image or to a text (a str that is not an existing file is text).

        An image query that is a file of the library does not get its own patient's reports back
        unless include_own.
        """
        if _is_text(query):
            return self.search_reports_vector(self.embed_texts([query])[0], k)
        skip = frozenset() if include_own else self._reports_of(self._own_images(query))
        return self.search_reports_vector(self.embed_images([query])[0], k, skip)

    @audited("search_reports_vector")
    def search_reports_vector(self, vector: np.ndarray, k: int = 10,
                              skip: frozenset[int] = frozenset()) -> list[ReportHit]:
        """Reports closest to an embedding you already have, each with its sentence nearest to it."""
        vector = np.asarray(vector, dtype=np.float32)
        scores, ids = self.store.vectors("reports").search(vector, k + len(skip))
        found = [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0 and int(i) not in skip][:k]
        return self._report_hits(vector, found)

    def _reports_of(self, image_ids: frozenset[int]) -> frozenset[int]:
        """Ids of the reports of these images' studies."""
        if not image_ids:
            return frozenset()
        with self.store.catalog.session() as s:
            studies = select(Image.study_id).where(Image.id.in_(sorted(image_ids)))
            return frozenset(s.scalars(select(Report.id).where(Report.study_id.in_(studies))))

    @audited("search_sentences")
    def search_sentences(self, query: ImageQuery | str, k: int = 10) -> list[ReportHit]:
        """The k reports holding the sentences closest to the query, ranked by their best sentence.

        Finds a report by one matching statement even when the rest of it is about other things;
        each hit's `why` is that sentence.
        """
        skip: frozenset[int] = frozenset()
        if _is_text(query):
            vector = self.embed_texts([query])[0]
        else:
            vector = self.embed_images([query])[0]
            skip = self._reports_of(self._own_images(query))  # not its own patient's reports
        index = self.store.vectors("sentences")
        best: dict[int, float] = {}
        fetch = k * SENTENCES_PER_REPORT
        while True:  # several sentences of one report can fill the first page: fetch more until k reports
            scores, ids = index.search(vector, min(fetch, max(index.ntotal, 1)))
            owners = self.store.catalog.sentence_rows([int(i) for i in ids[0] if i >= 0])
            best = {}
            for sentence_id, score in zip(ids[0], scores[0]):
                report = owners.get(int(sentence_id))
                if report is not None and report not in best and report not in skip:
                    best[report] = float(score)
            if len(best) >= k or fetch >= index.ntotal:
                break
            fetch *= 4
        found = sorted(best.items(), key=lambda item: -item[1])[:k]
        return self._report_hits(vector, found)

    def _report_hits(self, vector: np.ndarray, found: list[tuple[int, float]]) -> list[ReportHit]:
        rows = self.store.catalog.report_rows([i for i, _ in found])
        why = self._evidence(vector, {i: row["text"] for i, row in rows.items()})
        return [ReportHit(score=score, **rows[i], why=why.get(i)) for i, score in found if i in rows]

    def _evidence(self, vector: np.ndarray, texts: dict[int, str]) -> dict[int, Evidence]:
        """Report id -> its sentence nearest to the query vector, located in the report text `texts` holds
        for that id (none for models without a text tower)."""
        trained = self.model.info.get("trained_towers")
        if not texts or (trained is not None and "text" not in trained):
            return {}
        out = {}
        for report_id, sentences in self.store.catalog.sentences_of(list(texts), self.store.config.embed_dim).items():
            scores = [float(sentence["vector"] @ vector) for sentence in sentences]
            top = sentences[int(np.argmax(scores))]
            start = texts.get(report_id, "").find(top["text"])
            out[report_id] = Evidence(top["text"], top["section"], max(scores), start,
                                      start + len(top["text"]) if start >= 0 else -1)
        return out

    @audited("search_vector")
    def search_vector(self, vector: np.ndarray, k: int = 10, where: dict[str, Any] | None = None) -> list[Hit]:
        """Search with an embedding you already have (e.g. a stored image's, or an average)."""
        return self._image_hits(np.asarray(vector, dtype=np.float32), k, where)

    def _image_hits(self, vector: np.ndarray, k: int, where: dict[str, Any] | None,
                    avoid: np.ndarray | None = None, skip: frozenset[int] = frozenset()) -> list[Hit]:
        """Top k images for one query vector, or several (rows of `vector`: a candidate scores its best
        match among them), minus NEGATION_WEIGHT x its best match to any row of `avoid`."""
        queries = np.atleast_2d(np.asarray(vector, dtype=np.float32))
        plan = self._filter_plan(where)
        if plan is not None and plan.matching == 0:
            return []
        rerank = avoid is not None or len(queries) > 1
        fetch = max(k * NEGATION_POOL, NEGATION_MIN_POOL) if rerank else k
        best: dict[int, float] = {}
        for query in queries:
            for image_id, score in self._nearest(query, fetch, plan, skip):
                best[image_id] = max(score, best.get(image_id, -np.inf))
        found = sorted(best.items(), key=lambda pair: -pair[1])
        found = self._rescore([i for i, _ in found], queries, avoid)[:k] if rerank else found[:k]
        centre = queries.mean(axis=0)
        return self._hits(found, centre / max(float(np.linalg.norm(centre)), 1e-12))

    def _filter_plan(self, where: dict[str, Any] | None) -> FilterPlan | None:
        """How a filter is applied: its share of the library decides between post-filtering an
        over-fetched search (broad filters: no id list to build) and an id selector inside FAISS."""
        if not where:
            return None
        heads = [key[len("head:"):].partition(":")[0] for key in where if key.startswith("head:")]
        if heads:
            missing = [h for h in heads if not self.store.catalog.has_predictions(h)]
            if missing:
                raise InvalidFilter(f"head {', '.join(missing)} has no stored predictions in {self.path}; store them "
                                    f"with `radsearch heads predict --library {self.path} --head {missing[0]} --store`")
        query = self.store.image_filter(where)
        with self.store.catalog.session() as s:
            matching = int(s.scalar(select(func.count()).select_from(query.subquery())) or 0)
        share = matching / max(self.store.catalog.count("images"), 1)
        return FilterPlan(query, matching, share)

    def _allowed(self, plan: FilterPlan, skip: frozenset[int]) -> np.ndarray:
        if plan.allowed is None:
            with self.store.catalog.session() as s:
                allowed = np.fromiter(s.scalars(plan.query), dtype=np.int64)
            plan.allowed = np.setdiff1d(allowed, np.fromiter(skip, dtype=np.int64)) if skip else allowed
        return plan.allowed

    def _nearest(self, vector: np.ndarray, n: int, plan: FilterPlan | None,
                 skip: frozenset[int]) -> list[tuple[int, float]]:
        """(id, score) of the n nearest images matching the filter plan, never in `skip`."""
        index = self.store.vectors("images")
        if plan is not None and plan.share >= OVERFETCH_SHARE:
            over = math.ceil(n / plan.share * OVERFETCH_MARGIN) + len(skip)
            scores, ids = index.search(vector, over)
            found = [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0 and int(i) not in skip]
            with self.store.catalog.session() as s:
                keep = set(s.scalars(plan.query.where(Image.id.in_([i for i, _ in found]))))
            found = [pair for pair in found if pair[0] in keep][:n]
            if len(found) >= n:
                return found  # else too few matches were near: the id selector finds every one there is
        allowed = self._allowed(plan, skip) if plan is not None else None
        if allowed is not None and len(allowed) == 0:
            return []
        over = len(skip) if allowed is None else 0  # without a filter, skipped images are dropped after the search
        scores, ids = index.search(vector, n + over, allowed=allowed)
        found = [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0 and int(i) not in skip][:n]
        if allowed is not None and not index.exact and len(found) < min(n, len(allowed)):
            found = self._exact_among(vector, allowed, n)  # a graph search can run dry under a tight filter
        return found

    def _hits(self, found: list[tuple[int, float]], vector: np.ndarray) -> list[Hit]:
        """Hits for (id, score) pairs, with what the UI shows and the report sentence nearest `vector`."""
        rows = self.store.catalog.image_rows([i for i, _ in found])
        why = self._evidence(vector, {r["report_id"]: r["report"] for r in rows.values() if r["report_id"] is not None})
        thumbs = self.store.paths["thumbs"]
        hits = []
        for image_id, score in found:
            row = rows.get(image_id)
            if row is None:  # removed from the catalog since the index was loaded
                continue
            thumb = thumbs / f"{image_id}.png"
            hits.append(Hit(id=image_id, score=score, path=row["path"], study_key=row["study_key"],
                            metadata=row["metadata"], labels=row["labels"], report=row["report"],
                            thumbnail=str(thumb) if thumb.is_file() else None, why=why.get(row["report_id"])))
        return hits

    def _own_images(self, image: ImageQuery) -> frozenset[int]:
        """The images of the query's patient and study, when the query is a file of this library."""
        if names_a_file(image):
            digest = content_hash(Path(image))
        elif isinstance(image, bytes):
            digest = hashlib.sha256(image).hexdigest()
        else:
            return frozenset()
        image_id = self.find_by_hash(digest)
        return self._same_case(image_id) if image_id is not None else frozenset()

    def _same_case(self, image_id: int) -> frozenset[int]:
        """Ids of every image sharing a patient or a study with this one (itself included)."""
        with self.store.catalog.session() as s:
            row = s.get(Image, image_id)
            if row is None:
                return frozenset()
            same = Image.study_id == row.study_id
            if row.patient_id:
                same = same | (Image.patient_id == row.patient_id)
            return frozenset(s.scalars(select(Image.id).where(same)))

    def _rescore(self, ids: list[int], queries: np.ndarray, avoid: np.ndarray | None) -> list[tuple[int, float]]:
        """Exact scores from the stored embeddings: best match to a query row, minus the weighted best
        match to an avoided one; best first."""
        stored_ids, vectors = self.store.catalog.embeddings("images", ids, self.store.config.embed_dim)
        scores = (vectors @ queries.T).max(axis=1)
        if avoid is not None and len(avoid):
            scores = scores - NEGATION_WEIGHT * (vectors @ np.asarray(avoid, dtype=np.float32).T).max(axis=1)
        order = np.argsort(-scores, kind="stable")
        return [(int(stored_ids[i]), float(scores[i])) for i in order]

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

    def first_image_of(self, study_key: str) -> int | None:
        """The id of a study's first image (a cited case's picture), or None."""
        with self.store.catalog.session() as s:
            return s.scalar(select(Image.id).join(Study, Image.study_id == Study.id)
                            .where(Study.study_key == study_key).order_by(Image.id).limit(1))

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
        """The values a filter on `column` can take here (labels included), for pickers."""
        if column == "labels":
            return sorted(self.store.catalog.value_counts("labels"))
        return self.store.catalog.distinct(column)

    def overview(self) -> dict[str, Any]:
        """What the library holds and how it was built: counts by body part, view, label and split, the
        model and index types, heads, the latest indexing runs and unreadable files (the UI's Library page)."""
        catalog = self.store.catalog
        return self.stats() | {
            "counts": {column: catalog.value_counts(column) for column in ("body_part", "view", "labels", "split")},
            "index_types": {kind: self.store.index_spec(kind) for kind in ("images", "reports", "sentences")},
            "model": {"path": str(self.store.model_path), "training": self.model.info,
                      "profile": self.model.profile.to_dict()},
            "heads": [head.summary() for head in self.heads.list()],
            "runs": catalog.runs(), "failures": catalog.failures()}


def _is_text(query: ImageQuery | str) -> bool:
    """A str that names no existing file is a text query; anything else is an image."""
    return isinstance(query, str) and not names_a_file(query)


def _as_radiograph(image: ImageQuery) -> Radiograph:
    if isinstance(image, Radiograph):
        return image
    if isinstance(image, np.ndarray):
        return Radiograph(pixels=image)
    return read(image)


def open_library(path: str | Path) -> Library:
    """Open a library directory; it needs nothing but its own radsearch.toml and files."""
    return Library(LibraryStore.open(path))
