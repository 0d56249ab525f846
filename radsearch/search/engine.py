"""The query engine over one library: image->image, text->image, image or text->report and ->sentence,
studies and patients, "more like these", and report drafts. `Library.search` is one of these.

It receives the storage and (lazily) the encoder; it imports nothing from the indexer, curation or heads.
Call it to have a query routed (`engine(query, ...)`, what the CLI and the UI do), or call a verb.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Union

import numpy as np

from ..datasets import report_sentences
from ..datasets.report_labels import asserts_phrase
from ..errors import NoTextTower
from ..imaging import ImageInput, QueryImage, load_query
from ..models import Encoder, embed_radiographs, encode_texts, text_refusal
from ..storage import LibraryStore
from .audit import audited
from .context import SAMPLE, Results, UsualRange, anatomy_check, region, similarity_note, usual_range
from .draft import Case, Draft, Generator, draft_from_cases
from .evidence import nearest_sentences
from .hits import Evidence, GroupHit, Hit, ReportHit
from .planner import Planner
from .query import names_a_file, negation_penalty, parse_text_query
from .viewer import viewer_template, viewer_url

ImageQuery = Union[ImageInput, QueryImage]
Query = Union[ImageQuery, str, int, Sequence[Union[ImageQuery, int]]]
RESULTS = ("images", "reports", "sentences")
SENTENCES_PER_REPORT = 4  # sentence hits fetched per report wanted, before fetching more
NEGATION_POOL, NEGATION_MIN_POOL = 20, 200  # candidates re-ranked for a query with negated phrases
NEGATION_WEIGHT = 1.0  # how hard a match to a negated phrase pushes a result down
ORTHOGONAL_NEGATION = True  # query.negation_penalty; raw similarity broke 2 of 6 negated demo queries (6 vs 2)
GROUP_POOL = 10  # images retrieved per study or patient wanted, before grouping
DRAFT_CASES = 10  # reported studies a draft is built from


def is_text(query: Any) -> bool:
    """A str that names no existing file is a text query; anything else is an image (or an image id)."""
    return isinstance(query, str) and not names_a_file(query)


class SearchEngine:
    """Searches over a library's catalog and vector indexes with its encoder (loaded on first use)."""

    def __init__(self, store: LibraryStore, encoder: Callable[[], Encoder]) -> None:
        self.store = store
        self._encoder = encoder
        self.planner = Planner(store)
        self._usual: tuple[int, UsualRange | None] | None = None  # (index size, range) of usual_range

    @property
    def encoder(self) -> Encoder:
        return self._encoder()

    # -- routing: one entry for the front ends ------------------------------------------------------
    def __call__(self, query: Query, k: int = 10, where: dict[str, Any] | None = None, results: str = "images",
                 by: str | None = None, include_own: bool = False) -> list[Hit] | list[GroupHit] | list[ReportHit]:
        """Route a query to the verb that answers it.

        query: a text, an image (path, bytes, Radiograph, pixels), a library image id ("more like this"), or
        several images of one study (each view finds its own kind). results: "images", "reports" (ranked
        by the whole report) or "sentences" (by their best sentence). by: "study" or "patient" groups images.
        """
        if results not in RESULTS:
            raise ValueError(f"results are one of {', '.join(RESULTS)}, not {results!r}")
        if isinstance(query, (list, tuple)) and len(query) == 1:
            query = query[0]
        if results != "images":
            if where or by:
                raise ValueError("filters and grouping apply to image results; drop them to search reports")
            if isinstance(query, (list, tuple)):
                raise ValueError("search reports with one image or one text")
            if results == "sentences":
                return self.sentences(query, k, include_own=include_own)
            return self.reports(query, k, include_own=include_own)
        if by:
            return self.cases(query, k, where, by=by, include_own=include_own)
        if isinstance(query, (list, tuple)):
            return self.examples(list(query), k=k, where=where, combine="max", include_own=include_own)
        if isinstance(query, (int, np.integer)):
            return self.like(int(query), k, where, include_own=include_own)
        if is_text(query):
            return self.text(query, k, where)
        return self.image(query, k, where, include_own=include_own)

    def prepare(self, query: Any) -> Any:
        """A query as the verbs take it: image files and bytes read and decoded once (imaging.QueryImage);
        texts, ids and vectors as given. The audit log describes what this returns."""
        if isinstance(query, (list, tuple)):
            return [self.prepare(q) for q in query]
        if isinstance(query, (int, np.integer, QueryImage)) or is_text(query):
            return query
        return load_query(query)

    # -- images ----------------------------------------------------------------------------------
    @audited("search_image")
    def image(self, image: ImageQuery, k: int = 10, where: dict[str, Any] | None = None,
              include_own: bool = False) -> list[Hit]:
        """The k images most similar to `image`, optionally restricted by metadata filters.

        When the query is a file already in the library, its own patient's and study's images are left
        out (they would fill the first ranks and teach nothing); include_own=True keeps them.
        """
        skip = frozenset() if include_own else self._own_images(image)
        return self._noted(self._image_hits(self._embed([image])[0], k, where, skip=skip), where, image)

    @audited("search_like")
    def like(self, image_id: int, k: int = 10, where: dict[str, Any] | None = None,
             include_own: bool = False) -> list[Hit]:
        """Images similar to an indexed one (the UI's "Similar"), its patient and study left out by default."""
        skip = frozenset() if include_own else self.store.catalog.same_case(int(image_id))
        return self._image_hits(self.image_vector(image_id), k, where, skip=skip)

    @audited("search_examples")
    def examples(self, positive: Sequence[ImageQuery | int], negative: Sequence[ImageQuery | int] = (),
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
        negative = self.prepare(list(negative))
        wanted = self._example_vectors(positive)
        if not len(wanted):
            raise ValueError("give at least one positive example")
        unwanted = self._example_vectors(negative)
        skip = frozenset() if include_own else frozenset().union(*(self._own_of(e) for e in [*positive, *negative]))
        if combine == "mean":
            centre = wanted.mean(axis=0)
            wanted = (centre / max(float(np.linalg.norm(centre)), 1e-12))[None]
        return self._image_hits(wanted, k, where, avoid=unwanted if len(unwanted) else None, skip=skip)

    @audited("search_feedback")
    def refined(self, query: Query, relevant: Sequence[int] = (), not_relevant: Sequence[int] = (),
                k: int = 10, where: dict[str, Any] | None = None, include_own: bool = False) -> list[Hit]:
        """A query again, after its results were judged (relevance feedback, Rocchio's rule): the query's unit
        vector plus the mean of the relevant images' vectors is searched, and images like one marked not
        relevant are pushed down as negative examples are (`examples`). Without marks it is the plain query."""
        if is_text(query):
            if not isinstance(query, str) or not query.strip():
                raise ValueError("a text query needs some text")
            vector, skip = self.embed_texts([query])[0], frozenset()
        elif isinstance(query, (int, np.integer)):
            vector = self.image_vector(int(query))
            skip = frozenset() if include_own else self.store.catalog.same_case(int(query))
        else:  # one image, or the views of one study
            images = list(query) if isinstance(query, (list, tuple)) else [query]
            vector = self._embed(images).mean(axis=0)
            skip = frozenset() if include_own else frozenset().union(*(self._own_of(i) for i in images))
        wanted = np.asarray(vector, np.float32) / max(float(np.linalg.norm(vector)), 1e-12)
        dim = self.store.config.embed_dim  # marked images removed since are left out
        liked = self.store.catalog.embeddings("images", [int(i) for i in relevant], dim)[1]
        if len(liked):
            wanted = wanted + liked.mean(axis=0)
            wanted = wanted / max(float(np.linalg.norm(wanted)), 1e-12)
        unwanted = self.store.catalog.embeddings("images", [int(i) for i in not_relevant], dim)[1]
        return self._noted(self._image_hits(wanted, k, where, avoid=unwanted if len(unwanted) else None, skip=skip),
                           where)

    @audited("search_text")
    def text(self, text: str, k: int = 10, where: dict[str, Any] | None = None) -> list[Hit]:
        """The k images whose embedding best matches a free-text description.

        Negated phrases ("effusion without pneumothorax", "..., no nodule") are searched for apart:
        among the images nearest the wanted findings, those that also match a negated phrase are
        pushed down (score = similarity to the wanted text - NEGATION_WEIGHT x the highest similarity
        to a negated phrase), and those whose report asserts a negated finding go below every other
        candidate, so where reports exist the negation never shows more such cases than the plain
        query. A query that is all negation ("no pneumothorax") is searched as written.
        """
        if not isinstance(text, str) or not text.strip():
            raise ValueError("a text query needs some text")
        query = parse_text_query(text)
        if not query.negated or not query.positive:
            return self._noted(self._image_hits(self.embed_texts([text])[0], k, where), where)
        vectors = self.embed_texts([query.positive, *query.negated])
        return self._noted(self._image_hits(vectors[0], k, where, avoid=vectors[1:],
                                                  negated=query.negated), where)

    @audited("search_vector", prepare=False)
    def vector(self, vector: np.ndarray, k: int = 10, where: dict[str, Any] | None = None) -> list[Hit]:
        """Search with an embedding you already have (e.g. a stored image's, or an average)."""
        return self._image_hits(np.asarray(vector, dtype=np.float32), k, where)

    @audited("search_cases")
    def cases(self, query: Query, k: int = 10, where: dict[str, Any] | None = None, by: str = "study",
              score: str = "max", include_own: bool = False) -> list[GroupHit]:
        """The k studies (by="study") or patients (by="patient") whose images best match the query.

        The top GROUP_POOL x k images are grouped; a group scores the max or the mean of its images'
        scores among them. The query is a text, an image, a library image's id, or several images of one study.
        """
        if by not in ("study", "patient") or score not in ("max", "mean"):
            raise ValueError(f"group by 'study' or 'patient' with score 'max' or 'mean', not {by!r}/{score!r}")
        pool = k * GROUP_POOL
        if isinstance(query, (list, tuple)):
            hits = self.examples(query, k=pool, where=where, combine="max", include_own=include_own)
        elif isinstance(query, (int, np.integer)):  # a library image: more like it, grouped
            hits = self.like(int(query), pool, where, include_own=include_own)
        elif is_text(query):
            hits = self.text(query, pool, where)
        else:
            hits = self.image(query, pool, where, include_own=include_own)
        groups: dict[str, list[Hit]] = {}
        for hit in hits:
            key = hit.study_key if by == "study" else (hit.metadata.get("patient_id") or hit.study_key)
            groups.setdefault(key, []).append(hit)
        combine = max if score == "max" else (lambda values: sum(values) / len(values))
        ranked = [GroupHit(key, float(combine([h.score for h in members])), members) for key, members in groups.items()]
        return Results(sorted(ranked, key=lambda group: -group.score)[:k], getattr(hits, "notes", []))

    # -- reports ---------------------------------------------------------------------------------
    @audited("search_reports")
    def reports(self, query: ImageQuery | str, k: int = 10, include_own: bool = False) -> list[ReportHit]:
        """The k reports closest to an image or to a text (a str that is not an existing file is text).

        An image query that is a file of the library does not get its own patient's reports back
        unless include_own.
        """
        self._needs_text("report search")
        if is_text(query):
            return self._noted(self.reports_by_vector(self.embed_texts([query])[0], k), kind="reports")
        skip = frozenset() if include_own else self.store.catalog.reports_of_images(self._own_images(query))
        return self._noted(self.reports_by_vector(self._embed([query])[0], k, skip), kind="reports")

    def reports_by_vector(self, vector: np.ndarray, k: int = 10, skip: frozenset[int] = frozenset()) -> list[ReportHit]:
        """Reports nearest an embedding, never those in `skip`."""
        index = self.store.vectors("reports")
        scores, ids = index.search(vector, k + len(skip))
        found = [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0 and int(i) not in skip][:k]
        return self._report_hits(vector, found)

    @audited("search_sentences")
    def sentences(self, query: ImageQuery | str, k: int = 10, include_own: bool = False) -> list[ReportHit]:
        """The k reports holding the sentences closest to the query, ranked by their best sentence.

        Finds a report by one matching statement even when the rest of it is about other things;
        each hit's `why` is that sentence.
        """
        self._needs_text("sentence search")
        skip: frozenset[int] = frozenset()
        if is_text(query):
            vector = self.embed_texts([query])[0]
        else:
            vector = self._embed([query])[0]
            if not include_own:  # not its own patient's reports
                skip = self.store.catalog.reports_of_images(self._own_images(query))
        index = self.store.vectors("sentences")
        best: dict[int, float] = {}
        fetch = k * SENTENCES_PER_REPORT
        while True:  # several sentences of one report can fill the first page: fetch more until k reports
            scores, ids = index.search(vector, min(fetch, max(index.ntotal, 1)))
            owners = self.store.catalog.sentence_reports([int(i) for i in ids[0] if i >= 0])
            best = {}
            for sentence_id, score in zip(ids[0], scores[0]):
                report = owners.get(int(sentence_id))
                if report is not None and report not in best and report not in skip:
                    best[report] = float(score)
            if len(best) >= k or fetch >= index.ntotal:
                break
            fetch *= 4
        found = sorted(best.items(), key=lambda item: -item[1])[:k]
        return self._noted(self._report_hits(vector, found), kind="sentences")

    @audited("draft_report")
    def draft(self, image: ImageQuery, k: int = DRAFT_CASES, where: dict[str, Any] | None = None,
              generator: Generator | None = None, include_own: bool = False) -> Draft:
        """A report draft from the k most similar reported studies (search.draft): cited sentences the
        cases agree on, or a statement that they disagree. `generator` replaces the consensus text with
        a site's own (it receives the query, the cases and the consensus draft)."""
        name = image.name if isinstance(image, QueryImage) else "image"
        if not self.store.catalog.count("reports"):
            return Draft([], [], abstained="this library holds no reports, so there is nothing to draft from "
                                           "(index a manifest with a report column, or DICOM SR reports)")
        studies = self.cases(image, 2 * k, where, by="study", include_own=include_own)
        anatomy, how = self._query_region(image, studies)
        reported = [g for g in studies if g.hits[0].report]
        same = [g for g in reported
                if anatomy is None or region(g.hits[0].metadata.get("body_part")) in (anatomy, None)]
        if reported and not same:
            return Draft([], [], abstained=f"none of the {len(reported)} most similar reported studies is of the "
                                           f"query's anatomy ({anatomy}, {how}); a draft never borrows another "
                                           "body part's report")
        if not same:
            return Draft([], [], abstained="no reported study is among the most similar images"
                                           + (" that match the filter" if where else ""))
        reported = same[:k]
        report_ids = self.store.catalog.report_ids_of_studies([g.key for g in reported])
        sentences = self.store.catalog.sentences_of(list(report_ids.values()), self.store.config.embed_dim)
        cases = [Case(g.key, g.score, g.hits[0].report or "", self._case_sentences(
            g.hits[0].report or "", sentences.get(report_ids.get(g.key), []))) for g in reported]
        return draft_from_cases(cases, generator, query=name)

    def _query_region(self, image: ImageQuery, studies: list[GroupHit]) -> tuple[str | None, str]:
        """The query's anatomy: its header's body part, else the region most of its neighbours share."""
        header = region(load_query(image).radiograph.metadata.get("body_part"))
        if header:
            return header, "from its header"
        check = anatomy_check(None, [g.hits[0] for g in studies])
        return check.majority, "predicted from its most similar images"

    # -- saying why ------------------------------------------------------------------------------
    def usual_range(self) -> UsualRange | None:
        """The spread of best-match similarities among the library's own images (cached per index size)."""
        size = self.searchable("images")
        if self._usual is None or self._usual[0] != size:
            ids = self.store.vectors("images").ids()  # what a search sees, from memory: no scan of the catalog
            if len(ids):
                ids = np.random.default_rng(0).choice(ids, size=min(len(ids), SAMPLE), replace=False)
            sample = ids
            stored, vectors = self.store.catalog.embeddings("images", sample.tolist(), self.store.config.embed_dim)
            catalog = self.store.catalog  # as a query is searched: its own patient and study left out
            best = [max((score for _, score in self.planner.nearest(v, 1, None, catalog.same_case(int(i)) | {int(i)})),
                        default=-np.inf) for i, v in zip(stored, vectors)]
            self._usual = (size, usual_range(np.array(best)))
        return self._usual[1]

    def why_empty(self, kind: str = "images", where: dict[str, Any] | None = None) -> str:
        """Why a search of `kind` ("images", "reports", "sentences") found nothing, in words."""
        if kind != "images":
            if not self.store.catalog.count("reports"):
                return ("this library holds no reports (its manifest or DICOM files had none), so report and "
                        "sentence search have nothing to return")
            return "no report other than the query's own patient's was found"
        if not self.searchable("images"):
            return "the library holds no images yet: run radsearch index first"
        if self.planner.matches_nothing(self.planner.plan(where)):
            return f"the filter {where} matches no image of this library"
        return "no image other than the query's own patient's and study's was found"

    def _noted(self, hits: list, where: dict[str, Any] | None = None, image: ImageQuery | None = None,
               kind: str = "images") -> Results:
        """The hits with notes: why they are empty, or why they may mislead (anatomy, unusual query)."""
        if not hits:
            return Results(hits, [self.why_empty(kind, where)])
        notes = []
        if image is not None:
            notes.append(anatomy_check(load_query(image).radiograph.metadata.get("body_part"), hits).note())
            if not where:
                notes.append(similarity_note(hits[0].score, self.usual_range()))
        return Results(hits, [n for n in notes if n])

    def searchable(self, kind: str = "images") -> int:
        """How many vectors of a kind a search sees now (an index another process saved is reloaded first)."""
        return self.store.vectors(kind).ntotal

    # -- embedding -------------------------------------------------------------------------------
    def embed_images(self, images: Sequence[ImageQuery]) -> np.ndarray:
        """Unit vectors (n, D) for paths, bytes, Radiographs or 2-D pixel arrays in [0, 1]."""
        return self._embed([self.prepare(image) for image in images])

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors (n, D) for texts; refused when the model has no trained text tower."""
        try:
            return encode_texts(self.encoder, list(texts))
        except NoTextTower as e:
            raise NoTextTower(f"the model of {self.store.root} cannot read text: {e}") from e

    def image_vector(self, image_id: int) -> np.ndarray:
        """The stored embedding of an indexed image."""
        ids, vectors = self.store.catalog.embeddings("images", [int(image_id)], self.store.config.embed_dim)
        if not len(ids):
            raise KeyError(f"no image with id {image_id} in {self.store.root}")
        return vectors[0]

    def _embed(self, images: Sequence[QueryImage]) -> np.ndarray:
        return embed_radiographs(self.encoder, [load_query(image).radiograph for image in images])

    def _needs_text(self, what: str) -> None:
        reason = text_refusal(self.encoder)
        if reason is not None:
            raise NoTextTower(f"{what} needs a text tower, and the model of {self.store.root} has none: {reason}")

    def _case_sentences(self, report: str, stored: list) -> list[tuple[str, str, np.ndarray]]:
        """A neighbour's sentences with their text embeddings; an image-only model indexed none, so its
        reports are split here with zero vectors and the draft groups their sentences by words alone."""
        if stored:
            return [(x.section, x.text, x.vector) for x in stored]
        zero = np.zeros(self.store.config.embed_dim, np.float32)
        return [(section, sentence, zero) for section, sentence in report_sentences(report)]

    def _example_vectors(self, examples: Sequence[QueryImage | int]) -> np.ndarray:
        ids = [e for e in examples if isinstance(e, (int, np.integer))]
        images = [e for e in examples if not isinstance(e, (int, np.integer))]
        parts = [self.image_vector(int(i))[None] for i in ids] + ([self._embed(images)] if images else [])
        return np.concatenate(parts) if parts else np.zeros((0, self.store.config.embed_dim), np.float32)

    def _own_of(self, example: QueryImage | int) -> frozenset[int]:
        if isinstance(example, (int, np.integer)):
            return self.store.catalog.same_case(int(example))
        return self._own_images(example)

    def _own_images(self, image: ImageQuery) -> frozenset[int]:
        """The images of the query's patient and study, when the query is a file of this library."""
        digest = load_query(image).digest
        image_id = self.store.catalog.image_by_hash(digest) if digest else None
        return self.store.catalog.same_case(image_id) if image_id is not None else frozenset()

    # -- ranking and hits ------------------------------------------------------------------------
    def _image_hits(self, vector: np.ndarray, k: int, where: dict[str, Any] | None,
                    avoid: np.ndarray | None = None, skip: frozenset[int] = frozenset(),
                    negated: Sequence[str] = ()) -> list[Hit]:
        """Top k images for one query vector, or several (rows of `vector`: a candidate scores its best
        match among them), minus NEGATION_WEIGHT x its best match to any row of `avoid` (for the `negated`
        phrases of a text: only what they say beyond the wanted text, query.negation_penalty)."""
        queries = np.atleast_2d(np.asarray(vector, dtype=np.float32))
        plan = self.planner.plan(where)
        if self.planner.matches_nothing(plan):
            return []
        rerank = avoid is not None or len(queries) > 1
        fetch = max(k * NEGATION_POOL, NEGATION_MIN_POOL) if rerank else k
        best: dict[int, float] = {}
        for query in queries:
            for image_id, score in self.planner.nearest(query, fetch, plan, skip):
                best[image_id] = max(score, best.get(image_id, -np.inf))
        found = sorted(best.items(), key=lambda pair: -pair[1])
        found = self._rescore([i for i, _ in found], queries, avoid, negated)[:k] if rerank else found[:k]
        centre = queries.mean(axis=0)
        return self._hits(found, centre / max(float(np.linalg.norm(centre)), 1e-12))

    def _rescore(self, ids: list[int], queries: np.ndarray, avoid: np.ndarray | None,
                 negated: Sequence[str] = ()) -> list[tuple[int, float]]:
        """Exact scores from the stored embeddings: best match to a query row, minus the weighted best
        match to an avoided one; best first. For `negated` text phrases the reports decide where they
        exist: an image whose report states a negated finding goes last, one whose report does not keeps
        its score, and only unreported images pay the embedding's penalty (query.negation_penalty)."""
        stored_ids, vectors = self.store.catalog.embeddings("images", ids, self.store.config.embed_dim)
        scores = (vectors @ queries.T).max(axis=1)
        reports: dict[int, str] = {}
        if negated:
            reports = {i: row.report for i, row in self.store.catalog.get([int(i) for i in stored_ids]).items()
                       if row.report}
        if avoid is not None and len(avoid):
            avoid = np.asarray(avoid, dtype=np.float32)
            penalty = (negation_penalty(vectors, queries, avoid) if negated and ORTHOGONAL_NEGATION
                       else (vectors @ avoid.T).max(axis=1))  # negative example images: their raw similarity
            if negated:  # a report that does not state the finding outweighs an embedding's resemblance to it
                penalty = penalty * np.array([int(i) not in reports for i in stored_ids], dtype=np.float32)
            scores = scores - NEGATION_WEIGHT * penalty
        order = np.argsort(-scores, kind="stable")
        ranked = [(int(stored_ids[i]), float(scores[i])) for i in order]
        if not negated:
            return ranked
        stated = {i for i, report in reports.items() if any(asserts_phrase(report, phrase) for phrase in negated)}
        return [pair for pair in ranked if pair[0] not in stated] + [pair for pair in ranked if pair[0] in stated]

    def _evidence(self, vector: np.ndarray, texts: dict[int, str]) -> dict[int, Evidence]:
        """Report id -> its sentence nearest to the query vector (none for models without a text tower)."""
        if not texts or "text" not in self.encoder.towers:
            return {}
        return nearest_sentences(self.store.catalog, self.store.config.embed_dim, vector, texts)

    def _hits(self, found: list[tuple[int, float]], vector: np.ndarray) -> list[Hit]:
        """Hits for (id, score) pairs, with what the UI shows and the report sentence nearest `vector`."""
        rows = self.store.catalog.get([i for i, _ in found])
        why = self._evidence(vector, {r.report_id: r.report for r in rows.values() if r.report_id is not None})
        template = viewer_template(self.store.config.viewer_url)
        hits = []
        for image_id, score in found:
            row = rows.get(image_id)
            if row is None:  # removed from the catalog since the index was loaded
                continue
            thumb = self.store.paths.thumbnail(image_id)
            hits.append(Hit(id=image_id, score=score, path=row.path, study_key=row.study_key,
                            metadata=row.metadata, labels=row.labels, report=row.report,
                            thumbnail=str(thumb) if thumb.is_file() else None, why=why.get(row.report_id),
                            viewer_url=viewer_url(template, row.metadata)))
        return hits

    def _report_hits(self, vector: np.ndarray, found: list[tuple[int, float]]) -> list[ReportHit]:
        rows = self.store.catalog.reports([i for i, _ in found])
        why = self._evidence(vector, {i: row.text for i, row in rows.items()})
        return [ReportHit(score=score, id=rows[i].id, text=rows[i].text, study_key=rows[i].study_key,
                          patient_id=rows[i].patient_id, study_date=rows[i].study_date,
                          image_ids=rows[i].image_ids, why=why.get(i)) for i, score in found if i in rows]

