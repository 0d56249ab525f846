"""REST routes for what users keep: collections of cases and searches, and relevance marks on results.

The same Library calls as the UI and the CLI (`Library.collections`, `Library.feedback`), so a collection
saved in one front end is the one the others list. (No `from __future__ import annotations`: FastAPI reads
the routes' annotations.)
"""

import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ..library import Library
from .errors import NotFound
from .results import hits_json

MAX_K = 1000


class CollectionRequest(BaseModel):
    name: str = Field(..., description="e.g. 'teaching file', 'tumour board 2026-12-09'")
    note: str = ""


class CasesRequest(BaseModel):
    image_ids: list[int] = Field(..., min_length=1, description="indexed images to keep")
    note: str = ""


class SavedSearchRequest(BaseModel):
    """A search to keep: a text or an indexed image's id, with the options of POST /search."""

    text: str | None = None
    image_id: int | None = None
    where: dict[str, Any] | None = None
    by: Literal["study", "patient"] | None = None
    k: int = Field(10, ge=1, le=MAX_K)
    note: str = ""


class ExamplesRequest(BaseModel):
    k: int = Field(10, ge=1, le=MAX_K)
    where: dict[str, Any] | None = None
    avoid: str | None = Field(None, description="another collection whose cases are negative examples")


class MarkRequest(BaseModel):
    """A relevance mark on one result of a query (the query as POST /search names it: text or image_id)."""

    text: str | None = None
    image_id: int | None = None
    result_id: int = Field(..., description="the result's image id")
    relevant: bool | None = Field(..., description="true, false, or null to clear the mark")


def _query(text: str | None, image_id: int | None) -> str | int:
    if (text is None) == (image_id is None):
        raise ValueError("give exactly one of text or image_id")
    return text if text is not None else int(image_id)


def add_workspace_routes(app: FastAPI, lib: Library, user_dependency: Any,  # noqa: ANN401 - an Annotated type
                         as_caller: Callable[[str | None], Any]) -> None:
    """Mount /collections and /feedback on the app, authenticated and audited as every other route."""
    User = user_dependency

    @app.get("/collections", tags=["collections"])
    def collections(user: User) -> list[dict]:
        """Every collection with its number of items."""
        return [asdict(c) for c in lib.collections.list()]

    @app.post("/collections", tags=["collections"])
    def create(request: CollectionRequest, user: User) -> dict:
        with as_caller(user):
            return asdict(lib.collections.create(request.name, request.note))

    @app.get("/collections/{name}", tags=["collections"])
    def items(name: str, user: User) -> dict:
        """A collection's cases and saved searches, in the order they were added."""
        found = _collection(lib, name)
        return {"name": found["name"], "note": found["note"], "items": [asdict(i) for i in lib.collections.items(name)]}

    @app.post("/collections/{name}/images", tags=["collections"])
    def add_cases(name: str, request: CasesRequest, user: User) -> dict:
        """Keep indexed images in a collection (made if new); images already in it are not added twice."""
        with as_caller(user):
            return {"added": lib.collections.add(name, request.image_ids, request.note)}

    @app.post("/collections/{name}/searches", tags=["collections"])
    def add_search(name: str, request: SavedSearchRequest, user: User) -> dict:
        with as_caller(user):
            lib.collections.save_search(name, _query(request.text, request.image_id), request.where, request.by,
                                        request.k, note=request.note)
        return {"saved": True}

    @app.post("/collections/{name}/search", tags=["collections"])
    def more_like(name: str, request: ExamplesRequest, user: User) -> dict:
        """Images like the collection's cases, unlike those of `avoid`."""
        with as_caller(user):
            return hits_json(lib, lib.collections.more_like(name, request.k, request.where, request.avoid))

    @app.get("/collections/{name}/manifest", tags=["collections"], response_class=Response,
             responses={200: {"content": {"text/csv": {}}}})
    def manifest(name: str, user: User) -> Response:
        """The collection's cases as a radsearch manifest (CSV): index it, train on it, share it."""
        with tempfile.TemporaryDirectory() as folder:
            path, _ = lib.export_collection(name, Path(folder) / "manifest.csv")
            return Response(path.read_bytes(), media_type="text/csv",
                            headers={"Content-Disposition": f'attachment; filename="{_file_name(name)}.csv"'})

    @app.delete("/collections/{name}/items/{item_id}", tags=["collections"])
    def remove(name: str, item_id: int, user: User) -> dict:
        with as_caller(user):
            if not lib.collections.remove(name, item_id):
                raise NotFound(f"collection {name!r} has no item {item_id}")
        return {"removed": item_id}

    @app.delete("/collections/{name}", tags=["collections"])
    def delete(name: str, user: User) -> dict:
        with as_caller(user):
            return {"deleted": name, "items": lib.collections.delete(name)}

    @app.post("/feedback", tags=["feedback"])
    def mark(request: MarkRequest, user: User) -> dict:
        """Mark one result of a query relevant or not; POST /search with "feedback": true then uses the marks."""
        with as_caller(user):
            lib.feedback.mark(_query(request.text, request.image_id), request.result_id, request.relevant)
            return {"marks": {str(k): v for k, v in lib.feedback.marks(_query(request.text, request.image_id)).items()}}

    @app.get("/feedback", tags=["feedback"])
    def marks(user: User, text: str | None = None, image_id: int | None = None) -> dict:
        """The caller's marks on one query's results: {result_id: relevant}."""
        with as_caller(user):
            return {"marks": {str(k): v for k, v in lib.feedback.marks(_query(text, image_id)).items()}}


def _collection(lib: Library, name: str) -> dict:
    found = next((c for c in lib.collections.list() if c.name == name.strip()), None)
    if found is None:
        raise NotFound(f"no collection named {name!r} in this library")
    return asdict(found)


def _file_name(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)[:64] or "collection"
