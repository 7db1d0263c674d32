"""The ingest writer's answers to database errors raised by SQLAlchemy or straight by the driver.

Bulk inserts and lookups go to the driver itself (db.bulk), so its own
exceptions reach the writer unwrapped: a unique key taken by a concurrent
writer must still be retried, and a database that went away must still be a
503 that senders retry.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session

from watchkeeper.alerts import store, writer
from watchkeeper.alerts.ingest import IngestGate, error_reply
from watchkeeper.alerts.models import Integration
from watchkeeper.alerts.writer import IngestJob
from watchkeeper.api.context import AppContext
from watchkeeper.clock import FixedClock

RealWrite = Callable[[Session, Sequence[IngestJob], AppContext], list[store.IngestResult]]


def _driver_error(app: FastAPI, kind: str) -> Exception:
    postgres = app.state.ctx.db.is_postgres
    if kind == "conflict":
        return (
            psycopg.errors.UniqueViolation("taken") if postgres else sqlite3.IntegrityError("taken")
        )
    return (
        psycopg.OperationalError("server closed the connection")
        if postgres
        else (sqlite3.OperationalError("database is locked"))
    )


def _jobs(app: FastAPI, clock: FixedClock) -> list[IngestJob]:
    ctx = app.state.ctx
    with ctx.db.write() as session:
        session.add(Integration(name="pd", kind="pagerduty", token="pd", created_at=clock.now()))
    gate: IngestGate = ctx.services["ingest"]
    integration = gate.integration("pd")
    bodies = [
        {
            "routing_key": "pd",
            "event_action": "trigger",
            "dedup_key": key,
            "payload": {"summary": key, "source": "test", "severity": "critical"},
        }
        for key in ("a", "b")
    ]
    return [gate.parse(integration, body, json.dumps(body)) for body in bodies]


def test_a_unique_key_taken_concurrently_is_retried(
    app: FastAPI, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    real: RealWrite = writer.write_jobs
    calls: list[int] = []

    def flaky(session: Session, jobs: Sequence[IngestJob], ctx: AppContext) -> Any:
        calls.append(len(jobs))
        if len(calls) <= 2:  # the batch, then the first job alone
            raise _driver_error(app, "conflict")
        return real(session, jobs, ctx)

    monkeypatch.setattr(writer, "write_jobs", flaky)
    jobs = _jobs(app, clock)
    app.state.ctx.services["ingest"].writer._commit(jobs)
    assert calls == [2, 1, 1, 1]
    assert [job.future.result().new_alerts for job in jobs] == [1, 1]


def test_a_database_gone_answers_503(
    app: FastAPI, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(session: Session, jobs: Sequence[IngestJob], ctx: AppContext) -> Any:
        raise _driver_error(app, "gone")

    monkeypatch.setattr(writer, "write_jobs", down)
    jobs = _jobs(app, clock)
    app.state.ctx.services["ingest"].writer._commit(jobs)
    for job in jobs:
        error = job.future.exception()
        assert error is not None
        reply = error_reply(error)
        assert reply.status == 503
        assert ("retry-after", "5") in reply.headers
