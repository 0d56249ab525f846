"""Drafting quality: do a draft's findings match the reference report's labels better than copying
the single nearest report does? Label-level F1 over test-split studies, in the same run."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm import tqdm

from ..datasets import read_manifest
from ..datasets.report_labels import FINDING_LABELS, mine_labels
from ..datasets.vocabulary import canonical_labels
from ..errors import UnreadableImage
from ..library import Library

log = logging.getLogger(__name__)
METHODS = ("draft", "nearest report")


@dataclass
class DraftingScores:
    queries: int  # studies drafted
    k: int
    abstained: float  # share of queries where the neighbours disagreed and no draft was made
    micro_f1: dict[str, float] = field(default_factory=dict)  # method -> micro-averaged label F1
    macro_f1: dict[str, float] = field(default_factory=dict)
    per_label: dict[str, dict[str, float]] = field(default_factory=dict)  # label -> method -> F1

    def to_dict(self) -> dict:
        return asdict(self)

    def table(self) -> str:
        lines = [f"drafting, {self.queries} test studies, k={self.k} (no draft for {self.abstained:.0%}: "
                 "the neighbours disagreed)", f"{'label F1':<20}" + "".join(f"{m:>16}" for m in METHODS)]
        lines.append(f"{'micro':<20}" + "".join(f"{self.micro_f1[m]:>16.3f}" for m in METHODS))
        lines.append(f"{'macro':<20}" + "".join(f"{self.macro_f1[m]:>16.3f}" for m in METHODS))
        for label, scores in sorted(self.per_label.items()):
            lines.append(f"  {label:<18}" + "".join(f"{scores[m]:>16.3f}" for m in METHODS))
        return "\n".join(lines)


def evaluate_drafts(library: Library, queries: str | Path, k: int = 10, split: str | None = "test",
                    progress: bool = True) -> DraftingScores:
    """Draft a report for one image of each query study (its own patient left out) and score its labels.

    Reference: the study's manifest labels (or, without labels, those mined from its report).
    Baseline: the labels mined from the report of the single most similar reported study.
    A draft withheld because the neighbours disagree asserts nothing (it counts against recall).
    """
    studies: dict[str, object] = {}
    for record in read_manifest(queries):
        if (split is None or not record.split or record.split == split) and (record.labels or record.report):
            studies.setdefault(record.study_id or record.path, record)
    counts = {m: defaultdict(lambda: [0, 0, 0]) for m in METHODS}  # label -> [tp, fp, fn]
    abstained = done = 0
    for record in tqdm(list(studies.values()), desc="drafts", unit="study", disable=not progress):
        try:
            draft = library.search.draft(record.path, k=k)
        except UnreadableImage as e:
            log.warning("skipping query: %s", e)
            continue
        if not draft.cases:
            continue
        done += 1
        abstained += draft.uncertain
        truth = set(canonical_labels(record.labels)) if record.labels else mine_labels(record.report)
        drafted = set().union(*(mine_labels(sentence.text) for sentence in draft.sentences))
        predicted = {"draft": set() if draft.uncertain else drafted,
                     "nearest report": mine_labels(draft.cases[0].report)}
        for method, labels in predicted.items():
            for label in (truth | labels) & set(FINDING_LABELS):
                tally = counts[method][label]
                tally[0 if label in truth and label in labels else (1 if label in labels else 2)] += 1
    if not done:
        raise ValueError(f"no query study in {queries} could be drafted (split {split!r})")
    per_label = {label: {m: _f1(*counts[m][label]) for m in METHODS}
                 for label in sorted(set(counts["draft"]) | set(counts["nearest report"]))}
    micro = {m: _f1(*[sum(t[i] for t in counts[m].values()) for i in range(3)]) for m in METHODS}
    macro = {m: sum(scores[m] for scores in per_label.values()) / max(len(per_label), 1) for m in METHODS}
    return DraftingScores(queries=done, k=k, abstained=abstained / done, micro_f1=micro, macro_f1=macro,
                          per_label=per_label)


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0
