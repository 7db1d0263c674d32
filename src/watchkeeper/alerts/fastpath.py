"""An ASGI fast path for the ingest endpoints.

Senders post thousands of small requests per second. Routing them through
FastAPI's router, dependency resolution and exception middlewares costs more
CPU than storing the alerts, so this middleware answers the three ingest
POST routes directly with the same reply functions the FastAPI routes use.
Everything else passes through untouched.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from watchkeeper.alerts.ingest import (
    IngestGate,
    Reply,
    error_reply,
    reply_enqueue,
    reply_ingest,
    reply_prometheus,
    too_large,
)

_INGEST = re.compile(r"^/ingest/([^/]+)(/api/v2/alerts)?/?$")
Handler = Callable[[IngestGate, str, bytes], Awaitable[Reply]]


class IngestFastPath:
    def __init__(self, app: ASGIApp, gate: IngestGate) -> None:
        self.app = app
        self.gate = gate
        self.limit = gate.ctx.settings.ingest_max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path == "/v2/enqueue":
            scope["watchkeeper.route"] = "/v2/enqueue"
            reply = await self._run(receive, lambda body: reply_enqueue(self.gate, None, body))
        else:
            match = _INGEST.match(path)
            if match is None:
                await self.app(scope, receive, send)
                return
            token, v2 = match.group(1), match.group(2)
            if v2:
                scope["watchkeeper.route"] = "/ingest/{token}/api/v2/alerts"
                reply = await self._run(receive, lambda b: reply_prometheus(self.gate, token, b))
            else:
                scope["watchkeeper.route"] = "/ingest/{token}"
                reply = await self._run(receive, lambda b: reply_ingest(self.gate, token, b))
        body = reply.encode()
        headers = [(k.encode(), v.encode()) for k, v in reply.headers]
        headers.append((b"content-length", str(len(body)).encode()))
        if reply.body is not None:
            headers.append((b"content-type", b"application/json"))
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _run(self, receive: Receive, handle: Callable[[bytes], Awaitable[Reply]]) -> Reply:
        chunks: list[bytes] = []
        size = 0
        while True:
            message: Message = await receive()
            if message["type"] == "http.disconnect":
                return Reply(400, None)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                return error_reply(too_large(self.limit))
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return await handle(b"".join(chunks))
