"""Precision on judged queries: the relevance marks readers left in the UI (or via REST) scored against what
the library's model returns for those queries now, beside `radsearch eval`'s label-overlap figures.

Each judged query is run again as a plain search (not refined by its marks: the point is to score the
model). A result counts as relevant when more of its marks say relevant than not; unjudged results count
as not relevant in precision@k, and the share of the top k that was judged is reported beside it, since
precision over a mostly unjudged list says little.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from ..library import Library

TEXT, LIBRARY_IMAGE, IMAGE = "text: ", "library image ", "image sha256:"


@dataclass
class JudgedQuery:
    query: str
    relevant: int  # results marked relevant (by majority), whether retrieved now or not
    precision: float  # relevant among the top k / k
    judged: float  # share of the top k that carries a mark


@dataclass
class JudgedReport:
    k: int
    queries: list[JudgedQuery] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # judged queries that cannot be run again, with why

    @property
    def precision(self) -> float | None:
        return sum(q.precision for q in self.queries) / len(self.queries) if self.queries else None

    @property
    def judged(self) -> float | None:
        return sum(q.judged for q in self.queries) / len(self.queries) if self.queries else None

    def to_dict(self) -> dict[str, Any]:
        return {"k": self.k, "precision_at_k": self.precision, "judged_at_k": self.judged,
                "queries": [asdict(q) for q in self.queries], "skipped": self.skipped}

    def table(self) -> str:
        if not self.queries:
            return "judged queries: none" + (f" ({len(self.skipped)} cannot be run again)" if self.skipped else "")
        lines = [f"judged queries: {len(self.queries)}   precision@{self.k} {self.precision:.3f}   "
                 f"judged share of the top {self.k} {self.judged:.3f}",
                 f"{'query':<48} {'marked relevant':>15} {'P@' + str(self.k):>6} {'judged':>7}"]
        lines += [f"{q.query[:48]:<48} {q.relevant:>15} {q.precision:>6.3f} {q.judged:>7.3f}" for q in self.queries]
        if self.skipped:
            lines.append(f"not run again: {'; '.join(self.skipped[:5])}" + (" ..." if len(self.skipped) > 5 else ""))
        return "\n".join(lines)


def judged_precision(library: Library, k: int = 10) -> JudgedReport:
    """Score every query with relevance marks in the library."""
    votes: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for mark in library.feedback.judged():
        votes[mark.query][mark.image_id] += 1 if mark.relevant else -1
    report = JudgedReport(k)
    for key, marks in votes.items():
        query = _replayable(library, key)
        if query is None:
            report.skipped.append(f"{key[:60]}: not a text or an image of this library")
            continue
        shown = [hit.id for hit in library.search(query, k)]
        relevant = {i for i, vote in marks.items() if vote > 0}
        judged = {i for i, vote in marks.items() if vote != 0}
        report.queries.append(JudgedQuery(key, len(relevant), sum(i in relevant for i in shown) / k,
                                          sum(i in judged for i in shown) / k))
    return report


def _replayable(library: Library, key: str) -> str | int | None:
    if key.startswith(TEXT):
        return key[len(TEXT):]
    if key.startswith(LIBRARY_IMAGE) and key[len(LIBRARY_IMAGE):].isdigit():
        return int(key[len(LIBRARY_IMAGE):])
    if key.startswith(IMAGE):
        return library.store.catalog.image_by_hash(key[len(IMAGE):])
    return None
