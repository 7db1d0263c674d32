"""iCal URL sources: polling with ETag, failures keep the last good copy, unsafe URLs refused."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import T0, Account
from tests.schedules.helpers import create_schedule, ics
from watchkeeper.alerts.models import OutboxEvent
from watchkeeper.app import housekeeping_tasks
from watchkeeper.clock import FixedClock
from watchkeeper.db.engine import Database
from watchkeeper.schedules import calendars
from watchkeeper.worker import run_task_once

H = timedelta(hours=1)
CONFIG = calendars.IcalSourceSettings(timeout_seconds=1.0, max_bytes=20_000)


@dataclass
class FeedServer:
    """A tiny HTTP server on 127.0.0.1 whose answers the test changes."""

    base: str = ""
    body: bytes = b""
    etag: str = '"v1"'
    mode: str = "ok"  # ok | 404 | 500 | garbage | slow | big | metadata
    requests: list[dict[str, str]] = field(default_factory=list)


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    state = FeedServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(dict(self.headers.items()))
            if state.mode in ("404", "500"):
                self.send_response(int(state.mode))
                self.end_headers()
                return
            if state.mode == "metadata":
                self.send_response(302)
                self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
                self.end_headers()
                return
            if state.mode == "slow":
                time.sleep(2.5)
            if state.mode == "ok" and self.headers.get("If-None-Match") == state.etag:
                self.send_response(304)
                self.end_headers()
                return
            body = {"garbage": b"<html>Sign in</html>", "big": b"X" * 50_000}.get(
                state.mode, state.body
            )
            self.send_response(200)
            self.send_header("Content-Type", "text/calendar")
            self.send_header("ETag", state.etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def test_polling_etag_and_failures(
    client: TestClient,
    admin: Account,
    db: Database,
    clock: FixedClock,
    make_user: Callable[..., int],
    feed_server: FeedServer,
) -> None:
    make_user("ana@example.com")
    make_user("ben@example.com")
    sid = create_schedule(client, admin)["id"]
    feed_server.body = ics((T0 - H, T0 + 48 * H, "ana@example.com"))

    def poll() -> dict[str, Any]:
        clock.advance(timedelta(seconds=61))
        with db.write() as session:
            calendars.poll_calendars(session, clock.now(), config=CONFIG)
        body: dict[str, Any] = client.get(f"/api/v1/schedules/{sid}", headers=admin.headers).json()
        return body

    def on_call() -> list[str]:
        body = client.get(
            f"/api/v1/schedules/{sid}/oncall",
            params={"at": "2026-03-02T12:00:00Z"},
            headers=admin.headers,
        ).json()
        return [u["email"] for u in body["users"]]

    saved = client.put(
        f"/api/v1/schedules/{sid}/ical/url",
        json={"url": f"{feed_server.base}/secret/abc.ics", "poll_interval_seconds": 60},
        headers=admin.headers,
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["url"] == "http://127.0.0.1/…"  # the secret path is not shown
    assert saved.json()["source"] == "url"

    schedule = poll()
    assert on_call() == ["ana@example.com"]
    assert schedule["calendars"][0]["last_error"] is None
    version = schedule["version"]

    # Unchanged: the conditional request gets 304 and the schedule stays as it was.
    schedule = poll()
    assert feed_server.requests[-1].get("If-None-Match") == '"v1"'
    assert schedule["version"] == version and schedule["warnings"] == []

    feed_server.body, feed_server.etag = ics((T0 - H, T0 + 48 * H, "ben@example.com")), '"v2"'
    poll()
    assert on_call() == ["ben@example.com"]

    # Every kind of failure keeps the last good copy and says why.
    failures = {
        "404": "HTTP 404",
        "500": "HTTP 500",
        "garbage": "could not be read",
        "slow": "within 1 s",
        "big": "larger than 20000 bytes",
        "metadata": "metadata",
    }
    for mode, fragment in failures.items():
        feed_server.mode = mode
        schedule = poll()
        error = schedule["calendars"][0]["last_error"]
        assert error is not None and fragment in error, (mode, error)
        assert any("failed to update" in w for w in schedule["warnings"])
        assert on_call() == ["ben@example.com"], mode

    # A feed that suddenly has no events is treated as a mistake, not as "nobody".
    feed_server.mode, feed_server.body, feed_server.etag = "ok", ics(), '"v3"'
    schedule = poll()
    assert "no on-call events" in schedule["calendars"][0]["last_error"]
    assert on_call() == ["ben@example.com"]

    # Recovery clears the warning.
    feed_server.body, feed_server.etag = ics((T0 - H, T0 + 48 * H, "ana@example.com")), '"v4"'
    schedule = poll()
    assert schedule["warnings"] == [] and on_call() == ["ana@example.com"]


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://[fe80::1]/cal.ics",
        "file:///etc/passwd",
        "not a url",
    ],
)
def test_unsafe_urls_are_refused(client: TestClient, admin: Account, url: str) -> None:
    sid = create_schedule(client, admin)["id"]
    response = client.put(
        f"/api/v1/schedules/{sid}/ical/overrides/url", json={"url": url}, headers=admin.headers
    )
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith("url:")


def test_allow_list_setting(
    client: TestClient, admin: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHKEEPER_ICAL_URL_ALLOW", "169.254.10.0/24")
    sid = create_schedule(client, admin)["id"]
    allowed = client.put(
        f"/api/v1/schedules/{sid}/ical/url",
        json={"url": "http://169.254.10.5/cal.ics"},
        headers=admin.headers,
    )
    assert allowed.status_code == 200
    queued = client.post(f"/api/v1/schedules/{sid}/ical/poll", headers=admin.headers)
    assert queued.status_code == 202
    removed = client.delete(f"/api/v1/schedules/{sid}/ical", headers=admin.headers)
    assert removed.status_code == 204


def test_worker_tasks_poll_and_notify(
    client: TestClient,
    admin: Account,
    make_user: Callable[..., int],
    feed_server: FeedServer,
) -> None:
    make_user("ana@example.com")
    sid = create_schedule(client, admin)["id"]
    feed_server.body = ics((T0 + timedelta(minutes=10), T0 + 48 * H, "ana@example.com"))
    url = {"url": f"{feed_server.base}/cal.ics"}
    client.put(f"/api/v1/schedules/{sid}/ical/url", json=url, headers=admin.headers)
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    tasks = {t.name: t for t in housekeeping_tasks(ctx.settings)}
    assert run_task_once(ctx, tasks["schedules.poll_calendars"])
    assert run_task_once(ctx, tasks["schedules.notices"])
    schedule = client.get(f"/api/v1/schedules/{sid}", headers=admin.headers).json()
    assert schedule["calendars"][0]["has_content"]
    with ctx.db.read() as session:
        topics = session.scalars(select(OutboxEvent.topic).order_by(OutboxEvent.id)).all()
    assert topics == ["schedule.gap_within_48h", "schedule.shift_starts_soon"]
