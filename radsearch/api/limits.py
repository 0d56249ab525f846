"""Request body limit for the REST API, enforced before a large upload reaches the routes.

Starlette spools any multipart body to disk before a route sees it, so the limit must sit below it:
a declared Content-Length over the limit is answered 413 at once, and a body sent without one
(chunked) is read up to the limit and refused as soon as it passes it. A body within the limit is
handed on as it came (held in memory meanwhile: at most the limit per request).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]


class BodyLimit:
    """ASGI middleware: refuse request bodies over `limit` bytes with HTTP 413 and a JSON error."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send)
            return
        messages: list[Message] = []
        seen = 0
        while True:  # the whole body first: nothing of an oversized one reaches the app
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break  # the client went away
            seen += len(message.get("body", b""))
            if seen > self.limit:
                await self._refuse(send)
                return
            if not message.get("more_body", False):
                break
        replay = iter(messages)

        async def replayed() -> Message:
            return next(replay, None) or await receive()

        await self.app(scope, replayed, send)

    async def _refuse(self, send: Callable[[Message], Awaitable[None]]) -> None:
        mb = self.limit / 1024 / 1024
        body = json.dumps({"error": f"the request is larger than this server's limit of {mb:g} MB "
                                    "(RADSEARCH_MAX_UPLOAD_MB)"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
