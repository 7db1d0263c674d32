"""SIGKILL the server mid-load: every alert that got a 2xx is in the database afterwards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from sqlalchemy import select

from tests.e2e.procs import healthy, wait_until
from tests.live import free_port
from watchkeeper.alerts.models import Alert
from watchkeeper.db.engine import Database
from watchkeeper.identity import service as identity
from watchkeeper.identity.principal import SYSTEM
from watchkeeper.identity.schemas import UserCreate

SENDERS = 4
BATCH = 20


def _start(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "watchkeeper", "serve", "--port", str(port)],
        env={**os.environ, **env},
        stdout=out,
        stderr=subprocess.STDOUT,
    )


def test_sigkill_loses_no_acknowledged_alert(db_url: str, tmp_path: Path) -> None:
    env = {"WATCHKEEPER_DATABASE_URL": db_url, "WATCHKEEPER_DATA_DIR": str(tmp_path)}
    from datetime import UTC, datetime

    db = Database(db_url)
    with db.write() as session:
        user = identity.create_user(
            session,
            actor=SYSTEM,
            data=UserCreate(email="a@b.c", name="A", role="admin"),
            now=datetime.now(UTC),
        )
        _, token = identity.create_token(
            session, actor=SYSTEM, user_id=user.id, name="t", now=datetime.now(UTC)
        )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = _start(env, port, tmp_path / "server.log")
    wait_until(lambda: healthy(base), timeout=15, what="server start")
    headers = {"Authorization": f"Bearer {token}"}
    integration = httpx.post(
        f"{base}/api/v1/integrations", json={"name": "p", "kind": "prometheus"}, headers=headers
    ).json()
    path = f"{base}/ingest/{integration['token']}/api/v2/alerts"

    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def sender(n: int) -> None:
        with httpx.Client(timeout=5) as http:
            i = 0
            while not stop.is_set() and i < 10_000:
                names = [f"s{n}-b{i}-a{j}" for j in range(BATCH)]
                batch = [{"labels": {"alertname": "Load", "id": name}} for name in names]
                i += 1
                try:
                    response = http.post(path, json=batch)
                except httpx.TransportError:
                    return  # the server died mid-request: not acknowledged
                if response.status_code == 200:
                    with lock:
                        acknowledged.extend(names)

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(SENDERS)]
    for thread in threads:
        thread.start()
    wait_until(lambda: len(acknowledged) > 500, timeout=30, what="load to build up")
    server.send_signal(signal.SIGKILL)
    server.wait()
    stop.set()
    for thread in threads:
        thread.join(timeout=10)

    restarted = _start(env, port, tmp_path / "server.log")
    try:
        wait_until(lambda: healthy(base), timeout=15, what="restart")
        with db.read() as session:
            stored = set(session.scalars(select(Alert.labels["id"].as_string())).all())
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(timeout=15)
        db.dispose()
    missing = [name for name in acknowledged if name not in stored]
    assert not missing, f"{len(missing)} acknowledged alerts lost, e.g. {missing[:3]}"
    assert len(acknowledged) > 500
    time.sleep(0)
