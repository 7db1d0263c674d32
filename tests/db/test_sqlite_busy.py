"""A SQLite database another process keeps locked: a clear 503 for senders, never a 500."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from watchkeeper.alerts.models import Integration
from watchkeeper.app import create_app
from watchkeeper.clock import FixedClock
from watchkeeper.db.engine import Database
from watchkeeper.settings import Settings

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def sqlite_file(db_url: str) -> Path:
    if not db_url.startswith("sqlite"):
        pytest.skip("the write lock held by another process is SQLite's")
    return Path(db_url.removeprefix("sqlite:///"))


def _short_busy_timeout(database: Database) -> None:
    # Registered after Database's own "connect" listener, so it wins: wait
    # 50 ms for the lock instead of 30 s.
    @event.listens_for(database.engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=50")


def test_a_write_lock_held_elsewhere_is_an_operational_error_and_a_503(
    sqlite_file: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{sqlite_file}"
    database = Database(url)
    _short_busy_timeout(database)
    clock = FixedClock(T0)
    with database.write() as session:
        session.add(Integration(name="am", kind="alertmanager", token="tok", created_at=T0))
    other = sqlite3.connect(sqlite_file, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(OperationalError), database.write() as session:
            session.execute(text("SELECT 1"))
        settings = Settings(data_dir=tmp_path / "data", database_url=url, secret_key="k" * 20)
        app = create_app(settings, db=database, clock=clock, background=False)
        with TestClient(app) as client:
            response = client.post("/ingest/tok", json={"version": "4", "alerts": []})
        assert response.status_code == 503, response.text
        assert "retry later" in response.json()["error"]["message"]
        assert response.headers["retry-after"] == "5"
    finally:
        other.execute("ROLLBACK")
        other.close()
        database.dispose()
