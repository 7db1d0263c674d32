"""Refuse text no database can store, before a request reaches the app.

A NUL character ("\\u0000") fits in no PostgreSQL text column, and a lone
UTF-16 surrogate ("\\ud800") in no UTF-8 column of either database. Left to
the database, the first failed the write with a 500 on PostgreSQL while
SQLite stored it, and the second failed with a 500 on both. Checked here, a
team, chain or incident named with one gets the same 400 on both databases,
whichever route, query parameter or form carries it.

Ingest is not checked: an alert is never refused for such a character, it is
stored with a replacement instead (``alerts.ingest.decode_json``).
"""

from __future__ import annotations

import json
import re

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Prefixes of the routes that take alerts (see alerts.ingest).
UNCHECKED_PREFIXES = ("/ingest/", "/v2/enqueue")

# A JSON escape counts only where the backslash before it is not itself escaped.
_ESCAPE = rb"(?<!\\)(?:\\\\)*\\u"
_JSON_NUL = re.compile(_ESCAPE + rb"0000")
_JSON_SURROGATE = re.compile(_ESCAPE + rb"([dD][89a-fA-F][0-9a-fA-F]{2})")
_PERCENT_NUL = re.compile(rb"%00")

NUL_MESSAGE = (
    "the request contains a NUL character (\\u0000), which cannot be stored; remove it and retry"
)
SURROGATE_MESSAGE = (
    "the request contains a lone UTF-16 surrogate (such as \\ud800), which is not valid "
    "Unicode and cannot be stored; send the character as a valid pair or remove it"
)


def json_problem(body: bytes) -> str | None:
    """Why a JSON body holds unstorable text, or None."""
    if _JSON_NUL.search(body):
        return NUL_MESSAGE
    escapes = [(m.start(1), int(m.group(1), 16)) for m in _JSON_SURROGATE.finditer(body)]
    index = 0
    while index < len(escapes):
        start, value = escapes[index]
        paired = (
            value < 0xDC00
            and index + 1 < len(escapes)
            and escapes[index + 1][0] == start + 6  # "\uD83D\uDE00": the low half follows
            and escapes[index + 1][1] >= 0xDC00
        )
        if not paired:
            return SURROGATE_MESSAGE
        index += 2
    return None


def form_problem(body: bytes) -> str | None:
    """Why a urlencoded form or query string holds unstorable text, or None."""
    return NUL_MESSAGE if _PERCENT_NUL.search(body) or b"\x00" in body else None


class UnstorableTextGuard:
    """ASGI middleware: 400 for a NUL or lone surrogate in the path, query or body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNCHECKED_PREFIXES):
            await self.app(scope, receive, send)
            return
        problem = form_problem(scope.get("query_string", b""))
        if problem is None and "\x00" in scope["path"]:
            problem = NUL_MESSAGE
        if problem is None and scope["method"] in ("POST", "PUT", "PATCH", "DELETE"):
            content_type = Headers(scope=scope).get("content-type", "").lower()
            check = (
                json_problem
                if "json" in content_type
                else form_problem
                if "x-www-form-urlencoded" in content_type
                else None
            )
            if check is not None:
                messages = await _read_body(receive)
                problem = check(b"".join(m.get("body", b"") for m in messages))
                receive = _replay(messages, receive)
        if problem is None:
            await self.app(scope, receive, send)
            return
        await _answer(send, 400, "bad_request", problem)


async def _answer(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive) -> list[Message]:
    messages = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            return messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A receive that gives the buffered messages again, then the real ones."""
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay
