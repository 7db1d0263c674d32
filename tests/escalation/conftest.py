"""Fixtures for engine tests: a local webhook receiver and a ready-made paging setup."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.alerts.conftest import make_integration, team  # noqa: F401 - shared fixtures
from tests.conftest import Account
from watchkeeper.db.engine import Database
from watchkeeper.escalation.engine import Engine
from watchkeeper.notify.models import ContactMethod


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 that records every POST."""

    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    event: threading.Event = field(default_factory=threading.Event)

    def bodies(self) -> list[dict[str, Any]]:
        return [r["json"] for r in self.requests]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    holder: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            rec = holder["r"]
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = None
            rec.requests.append({"path": self.path, "headers": dict(self.headers), "json": parsed})
            self.send_response(rec.status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
            rec.event.set()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder["r"] = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/hook")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield holder["r"]
    server.shutdown()


@pytest.fixture
def engine(app: FastAPI) -> Engine:
    engine = app.state.ctx.services["engine"]
    assert isinstance(engine, Engine)
    return engine


def verified_webhook_method(
    client: TestClient,
    account: Account,
    receiver: Receiver,
    engine: Engine,
    db: Database,
    clock: Any,
) -> int:
    """Create a webhook contact method, read the code it received, and verify it."""
    created = client.post(
        f"/api/v1/users/{account.id}/contact-methods",
        json={"type": "webhook", "settings": {"url": receiver.url, "secret": "s" * 20}},
        headers=account.headers,
    )
    assert created.status_code == 201, created.text
    engine.drain(clock.now())
    code = receiver.bodies()[-1]["message"]["title"].rsplit(" ", 1)[-1]
    verified = client.post(
        f"/api/v1/users/{account.id}/contact-methods/{created.json()['id']}/verify",
        json={"code": code},
        headers=account.headers,
    )
    assert verified.status_code == 200, verified.text
    with db.read() as session:
        method = session.get(ContactMethod, created.json()["id"])
        assert method is not None
        assert method.verified
    receiver.requests.clear()
    return int(created.json()["id"])


Factory = Callable[..., Any]
