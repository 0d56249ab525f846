"""The audit log: every search through the engine (`Library.search`) is recorded in the catalog with who
ran it, when, what was asked and which results were shown.

Who: the user a front end authenticated (`acting_as`, set by the UI for each session's script run), else
the operating-system account running the process. A search that calls another (cases -> images, a draft
-> cases) is recorded once, as the outer call.
"""

from __future__ import annotations

import functools
import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import numpy as np

from ..imaging import QueryImage

_user: ContextVar[str | None] = ContextVar("radsearch_user", default=None)
_depth: ContextVar[int] = ContextVar("radsearch_audit_depth", default=0)
F = TypeVar("F", bound=Callable[..., Any])


def current_user() -> str:
    """The authenticated user of this thread's work, else the OS account ("unknown" where it has no name)."""
    user = _user.get()
    if user:
        return user
    try:
        return f"os:{getpass.getuser()}"
    except (KeyError, OSError):
        return "os:unknown"


@contextmanager
def acting_as(user: str) -> Iterator[None]:
    """Attribute the searches run inside to `user` (a front end's authenticated login)."""
    token = _user.set(user)
    try:
        yield
    finally:
        _user.reset(token)


def describe(query: Any) -> str:
    """What the log keeps of a query: text as typed; an image by name and content hash, never its pixels.
    Image queries arrive read once (imaging.QueryImage), so describing one reads nothing again."""
    if isinstance(query, QueryImage):
        return query.label
    if isinstance(query, str):
        return f"text: {query}"
    if isinstance(query, (int, np.integer)):
        return f"library image {int(query)}"
    if isinstance(query, (list, tuple)):
        return " + ".join(describe(q) for q in query)
    if isinstance(query, np.ndarray):
        return f"vector of {query.shape[-1]} values" if query.ndim == 1 else f"array {query.shape}"
    return f"query {type(query).__name__}"


def _result_ids(results: Any) -> list[int | str]:
    """What a search showed: image ids (groups flattened), report ids, or a draft's cited study keys."""
    if hasattr(results, "cases"):  # a report draft
        return [case.study_key for case in results.cases]
    ids: list[int | str] = []
    for result in results or []:
        if hasattr(result, "hits"):  # GroupHit
            ids.extend(hit.id for hit in result.hits)
        else:
            ids.append(int(result.id))
    return ids


def audited(action: str, prepare: bool = True) -> Callable[[F], F]:
    """Record a search method's calls (the outermost one only) in the catalog's audit log. The method's
    first argument, the query, is prepared first (`self.prepare`: image files read and decoded once)
    unless prepare=False (an embedding)."""
    def decorate(method: F) -> F:
        @functools.wraps(method)
        def wrapper(self, query: Any = None, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN001
            if prepare:
                query = self.prepare(query)
            token = _depth.set(_depth.get() + 1)
            try:
                results = method(self, query, *args, **kwargs)
            finally:
                _depth.reset(token)
            if _depth.get() == 0:
                where = kwargs.get("where")
                if where is None:
                    where = next((a for a in args if isinstance(a, dict)), None)
                self.store.catalog.record_search(current_user(), action, describe(query), where, _result_ids(results))
            return results
        return wrapper  # type: ignore[return-value]
    return decorate
