"""`evaluate`: the one harness behind every quality claim, each figure beside its same-run baselines.

Gallery = every image of the library; queries = the rows of a manifest split (by default `test`:
patients never trained on). For the library's model, each requested baseline and each candidate encoder
(a model directory of any family radsearch reads: the bake-off; evaluation.encoders) it measures
image->image precision@K, mAP@K and nDCG@K by label overlap (own patient excluded), text->image
precision and recall@K with each query's own report, image->report recall@K, a linear probe's AUROC
per label (fit on the gallery's train split with its strength cross-validated there, scored on the
queries), and image precision@K broken down by label and by body part.
"""

from __future__ import annotations

import logging
import warnings
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..datasets import embedding_text, read_manifest, source_of
from ..errors import UnreadableImage
from ..imaging import Radiograph, read, read_frame
from ..library import Library
from .encoders import ModelEncoder, baseline_encoders, candidate_encoders
from .metrics import NORMAL, average_precision_at_k, gain, label_set, ndcg_at_k, precision_at_k, relevant

log = logging.getLogger(__name__)


@dataclass
class Scores:
    """One encoder's figures on the same gallery and queries."""

    name: str
    image_precision_at_k: float  # image->image, by label overlap, query's own patient excluded
    image_map_at_k: float
    image_ndcg_at_k: float  # graded by Jaccard overlap of label sets
    text_precision_at_k: float | None  # own report's embedding text -> images, by label overlap with the query
    text_recall_at_k: float | None  # own report -> own image among the top k (queries in the library)
    report_recall_at_k: float | None  # own image -> own study's report among the top k
    probe_auroc: dict[str, float] = field(default_factory=dict)  # label -> AUROC of a linear probe
    zero_shot_auroc: dict[str, float] = field(default_factory=dict)  # label -> AUROC of prompt "x" vs "no x"
    by_label: dict[str, float] = field(default_factory=dict)  # label -> image precision@k of its queries
    by_body_part: dict[str, float] = field(default_factory=dict)
    by_source: dict[str, float] = field(default_factory=dict)  # datasets.source_of of the queries

    @property
    def probe_auroc_mean(self) -> float | None:
        return float(np.mean(list(self.probe_auroc.values()))) if self.probe_auroc else None

    @property
    def zero_shot_auroc_mean(self) -> float | None:
        return float(np.mean(list(self.zero_shot_auroc.values()))) if self.zero_shot_auroc else None


@dataclass
class RetrievalReport:
    k: int
    queries: int
    paired_queries: int  # queries found in the library, used by the two recall figures
    model: Scores
    baselines: list[Scores] = field(default_factory=list)

    def __getattr__(self, name: str):  # noqa: ANN204 -- report.image_precision_at_k is the model's figure
        if name.startswith("__") or name == "model":
            raise AttributeError(name)
        return getattr(self.model, name)

    def to_dict(self) -> dict:
        out = {"k": self.k, "queries": self.queries, "paired_queries": self.paired_queries}
        for scores in [self.model, *self.baselines]:
            out[scores.name] = asdict(scores) | {"probe_auroc_mean": scores.probe_auroc_mean,
                                                 "zero_shot_auroc_mean": scores.zero_shot_auroc_mean}
        return out

    def table(self) -> str:
        columns = [self.model, *self.baselines]
        k = self.k
        rows = [(f"image->image precision@{k}", [c.image_precision_at_k for c in columns]),
                (f"image->image mAP@{k}", [c.image_map_at_k for c in columns]),
                (f"image->image nDCG@{k}", [c.image_ndcg_at_k for c in columns]),
                (f"text->image precision@{k}", [c.text_precision_at_k for c in columns]),
                (f"text->image recall@{k}", [c.text_recall_at_k for c in columns]),
                (f"image->report recall@{k}", [c.report_recall_at_k for c in columns]),
                ("linear-probe AUROC (mean)", [c.probe_auroc_mean for c in columns]),
                ("zero-shot AUROC (mean)", [c.zero_shot_auroc_mean for c in columns])]
        labels = sorted(set().union(*(c.by_label for c in columns)))
        rows += [(f"  precision@{k}, label {name}", [c.by_label.get(name) for c in columns]) for name in labels]
        parts = sorted(set().union(*(c.by_body_part for c in columns)))
        rows += [(f"  precision@{k}, {part}", [c.by_body_part.get(part) for c in columns]) for part in parts]
        sources = sorted(set().union(*(c.by_source for c in columns)) - {""})
        rows += [(f"  precision@{k}, source {name}", [c.by_source.get(name) for c in columns]) for name in sources]
        probed = sorted(set().union(*(c.probe_auroc for c in columns)))
        rows += [(f"  probe AUROC, {name}", [c.probe_auroc.get(name) for c in columns]) for name in probed]
        prompted = sorted(set().union(*(c.zero_shot_auroc for c in columns)))
        rows += [(f"  zero-shot AUROC, {name}", [c.zero_shot_auroc.get(name) for c in columns]) for name in prompted]
        width = max(len(name) for name, _ in rows)
        widths = [max(11, len(c.name)) for c in columns]
        header = f"{'':<{width}}" + "".join(f"  {c.name:>{w}}" for c, w in zip(columns, widths))
        lines = [header] + [f"{name:<{width}}" + "".join(f"  {_fmt(v):>{w}}" for v, w in zip(values, widths))
                            for name, values in rows]
        lines.append(f"queries: {self.queries} ({self.paired_queries} found in the library); an unlabelled image is "
                     f"'normal' only within its own source")
        return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


@dataclass
class Gallery:
    """What the queries search: one row per image (ids, labels, patients, splits, sources) and the reports."""

    ids: np.ndarray
    paths: list[str]
    frames: list[int]
    labels: list[list[str]]
    patients: np.ndarray  # pseudonyms, as the catalog stores them
    splits: list[str]
    report_ids: list[int]
    reports: list[str]  # whole texts; each encoder embeds the sections its text tower was trained on
    report_studies: list[str]
    sources: list[str] = field(default_factory=list)  # datasets.source_of per image, "" where unknown

    def radiographs(self) -> list[Radiograph]:
        """Decode every gallery image again (baselines need pixels, not the stored vectors)."""
        out = []
        for path, frame in tqdm(list(zip(self.paths, self.frames)), desc="decode gallery", unit="img",
                                disable=not log.isEnabledFor(logging.INFO)):
            out.append(read_frame(path, frame))
        return out


def evaluate(library: Library, queries: str | Path, k: int = 10, split: str | None = "test",
             baselines: Sequence[str] = (), progress: bool = True, seed: int = 0,
             compare: Sequence[str | Path] = ()) -> RetrievalReport:
    """Score the library's model, each baseline in `baselines` and each model directory in `compare` on the
    rows of a query manifest: same gallery, same queries, same run. A candidate embeds the gallery itself."""
    rows = read_manifest(queries)
    records = [r for r in rows if split is None or not r.split or r.split == split]
    if not records:
        raise ValueError(f"no queries in {queries}" + (f" with split {split!r}" if split else ""))
    gallery = _load_gallery(library, {r.path: source_of(r) for r in rows})
    decoded, kept = [], []
    for record in tqdm(records, desc="decode queries", unit="img", disable=not progress):
        try:
            decoded.append(read(record.path))
            kept.append(record)
        except UnreadableImage as e:
            log.warning("skipping query: %s", e)
    records = kept
    own_ids = [library.find_file(r.path) for r in records]
    patients = [library.pseudonym(r.patient_id) for r in records]
    encoders = ([ModelEncoder("model", library.encoder)] + baseline_encoders(library.encoder, baselines, seed)
                + candidate_encoders(compare, library.store.config.precision))
    pixels = gallery.radiographs() if len(encoders) > 1 else None
    results = []
    for encoder in encoders:
        if encoder.name == "model":  # the vectors the library searches with
            _, gallery_vectors = library.store.catalog.embeddings("images", gallery.ids.tolist(),
                                                                  library.store.config.embed_dim)
            _, report_vectors = library.store.catalog.embeddings("reports", gallery.report_ids,
                                                                 library.store.config.embed_dim)
        else:
            gallery_vectors = encoder.images(pixels)
            report_vectors = (encoder.texts([embedding_text(t, encoder.report_sections) for t in gallery.reports])
                              if encoder.has_text else None)
        results.append(score_encoder(encoder, gallery, gallery_vectors, report_vectors, records, decoded, patients,
                              own_ids, k, progress))
    return RetrievalReport(k=k, queries=len(records), paired_queries=sum(1 for i in own_ids if i is not None),
                           model=results[0], baselines=results[1:])


def _load_gallery(library: Library, sources: dict[str, str]) -> Gallery:
    catalog = library.store.catalog
    rows = catalog.get(None, columns=("patient_id", "split"), report=False)
    ids = np.array(sorted(rows), dtype=np.int64)
    meta = [rows[int(i)] for i in ids]
    report_ids = sorted(catalog.ids("reports").tolist())
    reports = catalog.reports(report_ids)
    report_ids = [i for i in report_ids if i in reports]
    return Gallery(ids=ids, paths=[m.path for m in meta], frames=[m.frame for m in meta],
                    labels=[m.labels for m in meta],
                    patients=np.array([m.metadata["patient_id"] or "" for m in meta], dtype=object),
                    splits=[m.metadata["split"] or "" for m in meta], report_ids=report_ids,
                    reports=[reports[i].text for i in report_ids],
                    report_studies=[reports[i].study_key for i in report_ids],
                    sources=[sources.get(m.path, "") for m in meta])


def score_encoder(encoder, gallery: Gallery, gallery_vectors: np.ndarray,  # noqa: ANN001
                  report_vectors: np.ndarray | None, records: list, decoded: list[Radiograph],
                  patients: list[str | None], own_ids: list[int | None], k: int, progress: bool) -> Scores:
    """One encoder's Scores: its query vectors against the gallery's, every figure of the module docstring."""
    query_vectors = encoder.images(decoded)
    precisions, aps, ndcgs, text_p, text_r, report_r = [], [], [], [], [], []
    per_label, per_part, per_source = defaultdict(list), defaultdict(list), defaultdict(list)
    id_to_row = {int(i): n for n, i in enumerate(gallery.ids)}
    hit_sources = gallery.sources or [""] * len(gallery.ids)
    for n, record in enumerate(tqdm(records, desc=f"eval {encoder.name}", unit="query", disable=not progress)):
        source = source_of(record)
        relevant_to_query = partial(_relevant, record.labels, source, gallery.labels, hit_sources)
        gain_for_query = partial(_gain, record.labels, source, gallery.labels, hit_sources)

        scores = gallery_vectors @ query_vectors[n]
        if patients[n]:
            scores = np.where(gallery.patients == patients[n], -np.inf, scores)  # never the query's own patient
        allowed = np.isfinite(scores)
        top = _top(scores, k)
        relevance = [relevant_to_query(i) for i in top]
        gains_all = [gain_for_query(i) for i in np.flatnonzero(allowed)]
        precision = precision_at_k(relevance, k)
        precisions.append(precision)
        aps.append(average_precision_at_k(relevance, k, sum(1 for g in gains_all if g > 0)))
        ndcgs.append(ndcg_at_k([gain_for_query(i) for i in top], gains_all, k))
        for label in label_set(record.labels, source):
            per_label[label].append(precision)
        per_part[record.body_part or "unknown"].append(precision)
        per_source[source].append(precision)
        if encoder.has_text and record.report:
            text_vector = encoder.texts([embedding_text(record.report, encoder.report_sections)])[0]
            text_top = _top(gallery_vectors @ text_vector, k)
            text_p.append(precision_at_k([relevant_to_query(i) for i in text_top], k))
            if own_ids[n] is not None and own_ids[n] in id_to_row:
                text_r.append(1.0 if id_to_row[own_ids[n]] in set(text_top.tolist()) else 0.0)
        if report_vectors is not None and len(report_vectors) and record.report and own_ids[n] is not None:
            report_top = _top(report_vectors @ query_vectors[n], k)
            report_r.append(1.0 if any(gallery.report_studies[i] == record.study_id for i in report_top) else 0.0)
    return Scores(name=encoder.name, image_precision_at_k=_mean(precisions), image_map_at_k=_mean(aps),
                  image_ndcg_at_k=_mean(ndcgs), text_precision_at_k=_mean(text_p) if text_p else None,
                  text_recall_at_k=_mean(text_r) if text_r else None,
                  report_recall_at_k=_mean(report_r) if report_r else None,
                  probe_auroc=_probe(gallery, gallery_vectors, records, query_vectors),
                  zero_shot_auroc=_zero_shot(encoder, gallery, records, query_vectors),
                  by_label={name: _mean(v) for name, v in sorted(per_label.items())},
                  by_body_part={name: _mean(v) for name, v in sorted(per_part.items())},
                  by_source={name: _mean(v) for name, v in sorted(per_source.items())})


def _relevant(labels: list[str], source: str, hit_labels: list, hit_sources: list, i: int) -> bool:
    return relevant(labels, hit_labels[i], source, hit_sources[i])


def _gain(labels: list[str], source: str, hit_labels: list, hit_sources: list, i: int) -> float:
    return gain(labels, hit_labels[i], source, hit_sources[i])


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k highest finite scores, best first."""
    finite = np.flatnonzero(np.isfinite(scores))
    if len(finite) > k:
        finite = finite[np.argpartition(-scores[finite], k - 1)[:k]]
    return finite[np.argsort(-scores[finite], kind="stable")]


PROBE_CS = (0.1, 1.0, 10.0, 100.0, 1000.0)  # inverse L2 strengths the probe chooses from, per encoder and label
PROBE_FOLDS = 5


def _probe(gallery: Gallery, gallery_vectors: np.ndarray, records: list, query_vectors: np.ndarray) -> dict:
    """AUROC per label of a logistic-regression probe fit on the gallery's train split, scored on the queries.

    Its regularisation is chosen by cross-validated AUROC inside the train split, for each encoder and
    label alike (the linear-probe protocol of CLIP): a fixed strength favours whichever encoder's
    feature scale happens to suit it (raw pixels need far weaker regularisation than unit embeddings).
    """
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold

    from ..heads.probe import C_LINEAR
    train = [n for n, s in enumerate(gallery.splits) if s == "train"]
    if not train or not len(records):
        return {}
    names = sorted(set().union(*(gallery.labels[n] for n in train)) - {NORMAL})
    out = {}
    for name in names:
        y_train = np.array([name in gallery.labels[n] for n in train])
        y_test = np.array([name in r.labels for r in records])
        if y_train.all() or not y_train.any() or y_test.all() or not y_test.any():
            continue  # AUROC needs both classes on each side
        groups = _patient_groups(gallery.patients[train])
        folds = min(PROBE_FOLDS, len(set(groups[y_train])), len(set(groups[~y_train])))
        splits = (list(StratifiedGroupKFold(folds, shuffle=True, random_state=0).split(train, y_train, groups))
                  if folds >= 2 else [])
        if splits and all(y_train[test].any() and not y_train[test].all() for _, test in splits):
            # no patient in two folds: a patient's other images would otherwise tell the probe the answer
            probe = LogisticRegressionCV(Cs=list(PROBE_CS), cv=splits, scoring="roc_auc", max_iter=5000,
                                         class_weight="balanced")
        else:  # too few of one class to cross-validate: the linear head's strength
            probe = LogisticRegression(C=C_LINEAR, max_iter=5000, class_weight="balanced")
        with warnings.catch_warnings():  # scikit-learn 1.9 announces a change to fitted attributes this never reads
            warnings.simplefilter("ignore", FutureWarning)
            probe.fit(gallery_vectors[train], y_train)
        out[name] = float(roc_auc_score(y_test, probe.decision_function(query_vectors)))
    return out


def _patient_groups(patients: np.ndarray) -> np.ndarray:
    """Fold groups: the patient, or the image itself where the patient is unknown."""
    return np.array([p if p else f"image-{n}" for n, p in enumerate(patients)], dtype=object)


def _zero_shot(encoder, gallery: Gallery, records: list, query_vectors: np.ndarray) -> dict:  # noqa: ANN001
    """AUROC per label of the zero-shot prompt pair "<label>" / "no <label>" (heads.zeroshot), on the queries:
    what a zero-shot head of this encoder would score, with no label used."""
    from sklearn.metrics import roc_auc_score

    from ..heads import default_prompts
    if not encoder.has_text or not len(records):
        return {}
    names = sorted(set().union(*(gallery.labels)) - {NORMAL})
    out = {}
    for name in names:
        truth = np.array([name in r.labels for r in records])
        if truth.all() or not truth.any():
            continue
        prompts = default_prompts(name)
        wanted, absent = encoder.texts(prompts["positive"] + prompts["negative"])
        out[name] = float(roc_auc_score(truth, query_vectors @ (wanted - absent)))
    return out


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else 0.0
