"""Pooled PostgreSQL connections are pinged only after sitting idle, and a dead one is replaced."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from sqlalchemy import text

from watchkeeper.db import engine as engine_module
from watchkeeper.db.engine import Database


def backend_pid(db: Database) -> int:
    with db.read() as session:
        return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())


@pytest.fixture
def pg(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    db = Database(postgres_url)
    pings: list[object] = []
    real_ping = db.engine.dialect.do_ping

    def counting_ping(dbapi_connection: object) -> bool:
        pings.append(dbapi_connection)
        return real_ping(dbapi_connection)

    monkeypatch.setattr(db.engine.dialect, "do_ping", counting_ping)
    yield db, pings
    db.dispose()


def test_a_connection_back_from_use_a_moment_ago_is_not_pinged(pg: Any) -> None:
    db, pings = pg
    first = backend_pid(db)
    for _ in range(5):
        assert backend_pid(db) == first
    assert pings == []


def test_an_idle_connection_that_died_is_replaced_before_use(
    pg: Any, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, pings = pg
    dead = backend_pid(db)
    admin_url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (dead,))
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_SECONDS", 0.0)  # "it sat idle"

    assert backend_pid(db) != dead  # no error reaches the caller
    assert len(pings) >= 1
