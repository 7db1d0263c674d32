"""`watchkeeper serve --workers N`: several processes on one port (PostgreSQL only)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import func, select

from tests.e2e.procs import healthy, wait_until
from tests.live import free_port
from watchkeeper.alerts.models import Alert
from watchkeeper.db.engine import Database
from watchkeeper.identity import service as identity
from watchkeeper.identity.principal import SYSTEM
from watchkeeper.identity.schemas import UserCreate

SERVE = [sys.executable, "-m", "watchkeeper", "serve"]


def _serve(env: dict[str, str], port: int, workers: int, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*SERVE, "--port", str(port), "--workers", str(workers)],
        env={**os.environ, **env},
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in text.split()]


def _admin_token(db: Database) -> str:
    now = datetime.now(UTC)
    with db.write() as session:
        user = identity.create_user(
            session, actor=SYSTEM, data=UserCreate(email="w@b.c", name="W", role="admin"), now=now
        )
        _, token = identity.create_token(session, actor=SYSTEM, user_id=user.id, name="t", now=now)
    return token


def test_workers_share_the_port_and_store_every_alert(db_url: str, tmp_path: Path) -> None:
    env = {"WATCHKEEPER_DATABASE_URL": db_url, "WATCHKEEPER_DATA_DIR": str(tmp_path)}
    port = free_port()
    if db_url.startswith("sqlite"):
        done = subprocess.run(
            [*SERVE, "--port", str(port), "--workers", "2"],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 1
        assert "--workers needs PostgreSQL" in done.stderr
        return
    db = Database(db_url)
    token = _admin_token(db)
    server = _serve(env, port, 2, tmp_path / "server.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: healthy(base), timeout=30, what="server start")
        wait_until(lambda: len(_children(server.pid)) >= 2, timeout=30, what="two workers")
        integration = httpx.post(
            f"{base}/api/v1/integrations",
            headers={"Authorization": f"Bearer {token}"},
            json={"name": "prom", "kind": "prometheus"},
        ).json()
        url = f"{base}/ingest/{integration['token']}/api/v2/alerts"

        def send(n: int) -> int:
            alerts = [{"labels": {"alertname": "W", "n": str(n), "i": str(i)}} for i in range(10)]
            with httpx.Client() as client:  # a new connection each: spread over the workers
                return client.post(url, json=alerts).status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(send, range(40)))
        assert statuses == [200] * 40
        with db.read() as session:
            assert session.scalar(select(func.count(Alert.id))) == 400
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        db.dispose()
    assert server.returncode == 0
