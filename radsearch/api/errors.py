"""Errors as JSON with the HTTP status a client can act on; details are logged, never a traceback sent."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from ..errors import (
    AccessDenied,
    CatalogUnavailable,
    InvalidFilter,
    LibraryCorrupt,
    LibraryMismatch,
    NoTextTower,
    RadsearchError,
    StorageFull,
    UnreadableImage,
)
from ..pacs import PacsError
from .auth import NotSignedIn

log = logging.getLogger(__name__)


class NotFound(RadsearchError):
    """An id, UID or head the library does not have (HTTP 404)."""


# most specific first: the first class an error is an instance of decides its status
STATUS: list[tuple[type[Exception], int]] = [
    (NotSignedIn, 401), (AccessDenied, 403), (NotFound, 404),
    (UnreadableImage, 400), (InvalidFilter, 400), (NoTextTower, 400),
    (PacsError, 502), (CatalogUnavailable, 503), (LibraryCorrupt, 503), (StorageFull, 503), (LibraryMismatch, 503),
    (RadsearchError, 400), (ValueError, 400), (KeyError, 404),
]


def status_of(error: Exception) -> int:
    return next((status for kind, status in STATUS if isinstance(error, kind)), 500)


def install_error_handlers(app: FastAPI) -> None:
    """Map radsearch's errors (and request validation) to JSON responses."""

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'request'}: {e.get('msg')}"
                             for e in error.errors())
        return JSONResponse({"error": f"bad request: {problems}"}, status_code=400)

    for kind in {kind for kind, _ in STATUS}:
        @app.exception_handler(kind)
        async def known(request: Request, error: Exception) -> JSONResponse:
            status = status_of(error)
            message = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
            (log.warning if status >= 500 else log.info)("%s %s -> %d: %s", request.method, request.url.path,
                                                         status, message)
            headers = {"WWW-Authenticate": 'Bearer realm="radsearch"'} if status == 401 else None
            return JSONResponse({"error": message}, status_code=status, headers=headers)
