"""Relevance feedback: a user marks results of a query relevant or not; the marks are stored in the catalog
(so `radsearch eval` can score judged queries) and the next run of that query is refined with them
(`SearchEngine.refined`: towards the relevant images, away from the others).

A query is identified as the audit log describes it (`audit.describe`): the text as typed, "library image
N", or an image by its content hash, so a mark follows the query, not the session or the file's name.
"""

from __future__ import annotations

from typing import Any

from ..imaging import QueryImage
from ..storage import JudgementRecord
from .audit import current_user, describe
from .engine import SearchEngine
from .hits import Hit


class Feedback:
    """Relevance marks on one library's results, on behalf of the current user."""

    def __init__(self, engine: SearchEngine) -> None:
        self.engine = engine
        self.workspace = engine.store.workspace

    def key(self, query: Any) -> str:  # noqa: ANN401 - any query the engine takes
        """How a query's marks are filed: text as typed, "library image N", an image file by its content
        ("image sha256:HEX", whatever its name or however it was sent), else the audit log's description."""
        prepared = self.engine.prepare(query)
        if isinstance(prepared, QueryImage) and prepared.digest:
            return f"image sha256:{prepared.digest}"
        if isinstance(prepared, (list, tuple)):
            return " + ".join(self.key(q) for q in prepared)
        return describe(prepared)

    def mark(self, query: Any, image_id: int, relevant: bool | None) -> None:  # noqa: ANN401
        """Mark one result of a query relevant (True) or not (False); None clears the mark."""
        key, user = self.key(query), current_user()
        self.workspace.judge(key, int(image_id), relevant, user)
        action = {True: "judge_relevant", False: "judge_not_relevant", None: "judge_clear"}[relevant]
        self.engine.store.catalog.record_search(user, action, key, None, [int(image_id)])

    def marks(self, query: Any, everyone: bool = False) -> dict[int, bool]:  # noqa: ANN401
        """Image id -> relevant, for this query: the current user's marks, or everyone's (latest wins)."""
        found = self.workspace.judgements(self.key(query), None if everyone else current_user())
        return {j.image_id: j.relevant for j in found}

    def judged(self) -> list[JudgementRecord]:
        """Every mark in the library, oldest first (what `radsearch eval` scores)."""
        return self.workspace.judgements()

    def search(self, query: Any, k: int = 10, where: dict[str, Any] | None = None,  # noqa: ANN401
               include_own: bool = False) -> list[Hit]:
        """The query's results refined by the current user's marks on it (plain results when there are none)."""
        prepared = self.engine.prepare(query)
        marks = self.marks(prepared)
        if not marks:
            return self.engine(prepared, k, where, include_own=include_own)
        return self.engine.refined(prepared, [i for i, r in marks.items() if r], [i for i, r in marks.items() if not r],
                                   k=k, where=where, include_own=include_own)
