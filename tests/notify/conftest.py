"""A threaded HTTP server on 127.0.0.1 that records requests, and a sample message."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from watchkeeper.notify.message import Message


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hang up on purpose in the timeout and size tests


@dataclass
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Reply:
    """What the server answers; ``delay`` seconds first (cut short at teardown)."""

    status: int = 200
    body: bytes | str | dict[str, Any] | list[Any] = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, dict | list):
            return json.dumps(self.body).encode(), "application/json"
        if isinstance(self.body, str):
            return self.body.encode(), "text/plain; charset=utf-8"
        return self.body, "application/octet-stream"


class RecordingServer:
    """Records every request; answers with a per-path ``Reply`` or the default one."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.default = Reply()
        self.routes: dict[str, Reply] = {}
        self._stopping = threading.Event()
        self._httpd = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def respond(
        self,
        status: int = 200,
        body: bytes | str | dict[str, Any] | list[Any] = b"",
        *,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        path: str | None = None,
    ) -> None:
        reply = Reply(status, body, headers or {}, delay)
        if path is None:
            self.default = reply
        else:
            self.routes[path] = reply

    @property
    def last(self) -> Recorded:
        assert self.requests, "the server received no request"
        return self.requests[-1]

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                server.requests.append(
                    Recorded(
                        self.command,
                        parts.path,
                        parts.query,
                        {k.lower(): v for k, v in self.headers.items()},
                        body,
                    )
                )
                reply = server.routes.get(parts.path, server.default)
                if reply.delay and server._stopping.wait(reply.delay):
                    return
                payload, content_type = reply.encoded()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up (timeout tests)

            def do_GET(self) -> None:
                self._handle()

            def do_POST(self) -> None:
                self._handle()

            def do_PUT(self) -> None:
                self._handle()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def http_server() -> Iterator[RecordingServer]:
    """A recording HTTP server on 127.0.0.1 with a random port."""
    server = RecordingServer()
    server.start()
    yield server
    server.stop()


SAMPLE = Message(
    title="Disk full on db-1",
    severity="critical",
    summary="Filesystem /var is 99% full.\nWrites will fail soon.",
    group_url="https://oncall.example.com/alert-groups/42",
    idempotency_key="delivery-42-1",
    labels={"service": "billing", "env": "prod"},
    links=(("Runbook", "https://runbooks.example.com/disk"),),
    ack_url="https://oncall.example.com/ack/abc123",
)


@pytest.fixture
def message() -> Message:
    return SAMPLE


MakeMessage = Callable[..., Message]


@pytest.fixture
def make_message() -> MakeMessage:
    def make(**changes: Any) -> Message:
        return replace(SAMPLE, **changes)

    return make
