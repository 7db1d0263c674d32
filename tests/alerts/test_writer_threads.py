"""Writer threads: on PostgreSQL a second writer commits while the first waits."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from watchkeeper.alerts.ingest import IngestGate
from watchkeeper.alerts.models import Alert, Integration
from watchkeeper.alerts.writer import IngestJob, IngestWriter, writer_count
from watchkeeper.clock import FixedClock

from .test_writer_errors import _event, _wait_for_lock_wait


def _trigger(gate: IngestGate, key: str) -> IngestJob:
    body = _event(key)
    return gate.parse(gate.integration("pd"), body, json.dumps(body))


def test_sqlite_gets_one_writer_whatever_the_setting(app: FastAPI) -> None:
    ctx = app.state.ctx
    ctx.settings.ingest_writers = 3
    assert writer_count(ctx) == (3 if ctx.db.is_postgres else 1)
    ctx.settings.ingest_writers = None
    assert writer_count(ctx) == (2 if ctx.db.is_postgres else 1)


def test_a_second_writer_commits_while_the_first_waits_for_the_server(
    app: FastAPI, clock: FixedClock
) -> None:
    ctx = app.state.ctx
    if not ctx.db.is_postgres:
        pytest.skip("SQLite has one write lock: a second writer could only wait")
    with ctx.db.write() as session:
        session.add(Integration(name="pd", kind="pagerduty", token="pd", created_at=clock.now()))
    gate: IngestGate = ctx.services["ingest"]
    held = _event("held")
    gate.accept(gate.integration("pd"), held, json.dumps(held))  # inline: no writer yet
    with ctx.db.read() as session:
        held_id = session.scalars(select(Alert.id)).one()
    writers = IngestWriter(ctx)
    writers.start()
    url = ctx.db.engine.url.render_as_string(hide_password=False).replace("+psycopg", "")
    try:
        with psycopg.connect(url) as other:
            other.execute("SELECT 1 FROM alerts WHERE id = %s FOR UPDATE", (held_id,))
            first = writers.submit(_trigger(gate, "held"))  # a repeat: waits for the lock
            _wait_for_lock_wait(other, _Alive(first))
            second = writers.submit(_trigger(gate, "free"))
            assert second.result(timeout=10).new_alerts == 1  # one writer would wait here
            assert not first.done()
            other.commit()
            assert first.result(timeout=10).repeated_alerts == 1
    finally:
        writers.stop()
    assert not writers.running


class _Alive:
    """A future as the thread _wait_for_lock_wait watches: alive until done."""

    def __init__(self, future: Any) -> None:
        self.future = future

    def is_alive(self) -> bool:
        return not self.future.done()
