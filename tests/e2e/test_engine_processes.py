"""Three engine processes on one PostgreSQL: every page exactly once, even when one dies."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.e2e.procs import healthy, wait_until
from tests.live import free_port
from watchkeeper.db.engine import Database
from watchkeeper.notify.models import Delivery

GROUPS_PER_PHASE = 500


class Receiver:
    def __init__(self) -> None:
        self.keys: Counter[str] = Counter()
        self.titles: set[str] = set()
        self.codes: list[str] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                title = body["message"]["title"]
                with receiver.lock:
                    if title.startswith("Watchkeeper verification code"):
                        receiver.codes.append(title.rsplit(" ", 1)[1])
                    else:
                        receiver.keys[self.headers["X-Watchkeeper-Delivery"]] += 1
                        receiver.titles.add(title)
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/page"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _start(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "watchkeeper", "serve", "--port", str(port)],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def _reads_outbox(base: str) -> bool:
    metrics = httpx.get(f"{base}/metrics", timeout=5).text
    return "watchkeeper_engine_reads_outbox 1.0" in metrics


def test_three_processes_page_exactly_once_and_survive_sigkill(db_url: str, tmp_path: Path) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("several engine processes share work only on PostgreSQL")
    receiver = Receiver()
    env = {
        **os.environ,
        "WATCHKEEPER_DATABASE_URL": db_url,
        "WATCHKEEPER_DATA_DIR": str(tmp_path),
        "WATCHKEEPER_SECRET_KEY": "shared-secret-key-for-three-processes",
        "WATCHKEEPER_DELIVERY_CLAIM_TIMEOUT_SECONDS": "5",
        "WATCHKEEPER_LOG_LEVEL": "WARNING",
    }
    cli = [sys.executable, "-m", "watchkeeper"]
    subprocess.run(
        [*cli, "user", "create", "--email", "ops@example.com", "--name", "Ops", "--role", "admin"],
        env=env,
        check=True,
        capture_output=True,
    )
    token = subprocess.run(
        [*cli, "token", "create", "--email", "ops@example.com"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()[-1]
    ports = [free_port() for _ in range(3)]
    procs = [_start(env, port, tmp_path / f"server{n}.log") for n, port in enumerate(ports)]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for base in bases:
            wait_until(lambda b=base: healthy(b), timeout=20, what="server start")
        h = {"Authorization": f"Bearer {token}"}
        api = httpx.Client(base_url=bases[0], headers=h, timeout=30)
        me = api.get("/api/v1/me").json()
        method = api.post(
            f"/api/v1/users/{me['id']}/contact-methods",
            json={"type": "webhook", "settings": {"url": receiver.url, "secret": "p" * 20}},
        ).json()
        wait_until(lambda: bool(receiver.codes), timeout=20, what="verification code")
        api.post(
            f"/api/v1/users/{me['id']}/contact-methods/{method['id']}/verify",
            json={"code": receiver.codes[-1]},
        ).raise_for_status()
        chain = api.post(
            "/api/v1/escalation-chains",
            json={"name": "page", "steps": [{"type": "notify_users", "user_ids": [me["id"]]}]},
        ).json()
        integration = api.post(
            "/api/v1/integrations",
            json={"name": "prom", "kind": "prometheus", "options": {"group_by": ["id"]}},
        ).json()
        api.post(
            f"/api/v1/integrations/{integration['id']}/routes",
            json={"escalation_chain_id": chain["id"]},
        ).raise_for_status()
        path = f"/ingest/{integration['token']}/api/v2/alerts"

        def send(phase: int, targets: list[str]) -> None:
            for batch in range(GROUPS_PER_PHASE // 50):
                alerts = [
                    {
                        "labels": {"alertname": "P", "id": f"p{phase}-{batch}-{n}"},
                        "annotations": {"summary": f"p{phase}-{batch}-{n}"},
                    }
                    for n in range(50)
                ]
                # Like a real sender, fall back to another server when one is down
                # (one of them is killed mid-phase on purpose).
                order = targets[batch % len(targets) :] + targets[: batch % len(targets)]
                for base in order:
                    try:
                        httpx.post(base + path, json=alerts, timeout=30).raise_for_status()
                        break
                    except httpx.TransportError:
                        continue
                else:
                    raise AssertionError("no server accepted the batch")

        # Phase 1: all three processes alive; every group paged exactly once.
        send(1, bases)
        wait_until(
            lambda: len(receiver.titles) >= GROUPS_PER_PHASE, timeout=60, what="phase 1 pages"
        )
        time.sleep(2)  # let any duplicate arrive before counting
        assert len(receiver.titles) == GROUPS_PER_PHASE
        assert max(receiver.keys.values()) == 1, "a page was sent twice with all processes up"

        # Phase 2: kill the process that reads the outbox while pages are flowing;
        # another one must take over and page everything the others accept.
        leaders = [n for n, base in enumerate(bases) if _reads_outbox(base)]
        assert len(leaders) == 1, f"expected one outbox reader, found {leaders}"
        leader = leaders[0]
        others = [base for n, base in enumerate(bases) if n != leader]
        thread = threading.Thread(target=send, args=(2, others))
        thread.start()
        wait_until(
            lambda: len(receiver.titles) >= GROUPS_PER_PHASE + 50,
            timeout=60,
            what="phase 2 to start",
        )
        procs[leader].send_signal(signal.SIGKILL)
        procs[leader].wait()
        thread.join(timeout=60)
        wait_until(
            lambda: sum(_reads_outbox(base) for base in others) == 1,
            timeout=10,
            what="a surviving process to take over the outbox",
        )
        wait_until(
            lambda: len(receiver.titles) >= 2 * GROUPS_PER_PHASE,
            timeout=90,
            what="every phase 2 page despite the killed process",
        )
        time.sleep(2)
        assert len(receiver.titles) == 2 * GROUPS_PER_PHASE, "a page was lost"
        duplicates = {key for key, count in receiver.keys.items() if count > 1}
        database = Database(db_url)
        with database.read() as session:
            retried = set(
                session.scalars(select(Delivery.idempotency_key).where(Delivery.attempts > 1))
            )
        database.dispose()
        assert duplicates <= retried, "a duplicate that was not an in-flight attempt"
        assert len(duplicates) <= 32
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        receiver.server.shutdown()
