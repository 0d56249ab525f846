"""What the search page is answering: one query (uploaded images, a text, a library image, a collection's cases)
and the results shown for it, kept in the session so that opening, stepping through and marking results
neither searches again nor writes another audit row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import streamlit as st

from radsearch.imaging import preview_pixels, read
from radsearch.library import Library

from .sidebar import SearchOptions

SHOWN = "shown"  # session key: the Results on screen
PINNED = "pinned"  # session key: a query that is not typed or uploaded ("Similar", a collection's cases)
PREPARED = "prepared"  # session key: uploads decoded once, by content
PREVIEW_SIDE = 300  # px of an upload's preview (shown at half that, sharp on high-density screens)
OPEN = "open"  # session key: ("compare" | "study", image id) of the view shown over the results


@dataclass(frozen=True)
class Query:
    """A query as the page holds it. `kind` is "image" (uploads), "text", "similar" (a library image) or
    "examples" (a collection's cases, less like another collection's)."""

    kind: str
    text: str = ""
    uploads: tuple[tuple[str, bytes], ...] = ()
    image_id: int | None = None
    collection: str = ""
    avoid: str = ""

    @property
    def identity(self) -> tuple:
        """What makes two queries the same search (uploads by content, not by name)."""
        digests = tuple(hashlib.sha256(data).hexdigest() for _, data in self.uploads)
        return self.kind, self.text, digests, self.image_id, self.collection, self.avoid

    @property
    def markable(self) -> bool:
        """Whether results can be marked relevant for it (a collection's cases are not one query)."""
        return self.kind != "examples"

    def engine_query(self, library: Library) -> Any:  # noqa: ANN401 - what Library.search takes
        """The query for the search engine; uploads are decoded once per session (the same objects are passed
        again, so the audit log, the feedback key and the own-patient lookup read them once)."""
        if self.kind == "text":
            return self.text
        if self.kind == "similar":
            return self.image_id
        queries = [data for _, data in self.uploads]
        return session_memo(PREPARED, self.identity[2], lambda: library.search.prepare(
            queries if len(queries) > 1 else queries[0]), keep=1)  # one upload at a time is kept

    def title(self, by: str | None) -> str:
        what = "Studies" if by == "study" else "Patients" if by == "patient" else "Images"
        if self.kind == "text":
            return f"{what} matching “{self.text}”"
        if self.kind == "similar":
            return f"{what} similar to library image {self.image_id}"
        if self.kind == "examples":
            return f"Images like the cases of “{self.collection}”" + (f", unlike “{self.avoid}”" if self.avoid else "")
        return f"{what} similar to {', '.join(name for name, _ in self.uploads)}"


@dataclass
class Results:
    """The results on screen for one query and one set of options."""

    signature: tuple
    hits: list
    notes: list[str] = field(default_factory=list)
    marks_used: int = 0  # relevance marks the ranking was refined with
    error: str = ""


def signature(query: Query, options: SearchOptions) -> tuple:
    return (query.identity, json.dumps(options.where, sort_keys=True, default=str), options.k, options.by,
            options.include_own)


def results(library: Library, query: Query, options: SearchOptions, rerank: bool = False) -> Results:
    """The results for this query and these options: the ones on screen when nothing changed, else a new
    search. Relevance marks refine image results when the query is run (or `rerank` asks for it)."""
    from radsearch.errors import RadsearchError
    wanted = signature(query, options)
    shown = st.session_state.get(SHOWN)
    if shown is not None and shown.signature == wanted and not rerank:
        return shown
    if shown is not None and shown.signature[0] != wanted[0]:
        st.session_state.pop(OPEN, None)  # a new query: whatever was open belonged to the old one
    try:
        hits, used = _search(library, query, options)
        shown = Results(wanted, list(hits), list(getattr(hits, "notes", [])), used)
    except (RadsearchError, ValueError, KeyError) as e:
        shown = Results(wanted, [], error=str(e).strip("'\""))
    st.session_state[SHOWN] = shown
    return shown


def _search(library: Library, query: Query, options: SearchOptions) -> tuple[list, int]:
    if query.kind == "examples":
        return library.collections.more_like(query.collection, options.k, options.where or None,
                                             avoid=query.avoid or None, include_own=options.include_own), 0
    engine_query = query.engine_query(library)
    own = {} if query.kind == "text" else {"include_own": options.include_own}
    if options.by is None:
        marks = library.feedback.marks(engine_query)
        if marks:
            return library.feedback.search(engine_query, options.k, options.where or None, **own), len(marks)
    return library.search(engine_query, options.k, options.where or None, by=options.by, **own), 0


def session_memo(name: str, key: Any, compute: Callable[[], Any], keep: int) -> Any:  # noqa: ANN401
    """`compute()` kept in this browser session's dict `name` under `key`, so a rerun (a mark, a toggle) does
    not redo it; the dict is emptied when it holds `keep` entries. For what is per user or unhashable
    (a decoded upload, an overlay), where st.cache_data, shared by every session, does not fit."""
    memo = st.session_state.setdefault(name, {})
    if key not in memo:
        if len(memo) >= keep:
            memo.clear()
        memo[key] = compute()
    return memo[key]


@st.cache_data(show_spinner=False, max_entries=8)
def upload_preview(data: bytes, name: str) -> tuple[np.ndarray, str]:
    """An upload decoded once: its small preview and its view (PA, LAT, ...), for the page to show and the
    compare view to pair with a result of the same view."""
    radiograph = read(data, name=name)
    return preview_pixels(radiograph, PREVIEW_SIDE), str(radiograph.metadata.get("view") or "")


def pin(query: Query | None) -> None:
    """Make a query the page's own until it is closed ("Similar", a collection's cases); None unpins."""
    st.session_state.pop(PINNED, None)
    if query is not None:
        st.session_state[PINNED] = query
