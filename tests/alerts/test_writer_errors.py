"""The ingest writer's answers to database errors raised by SQLAlchemy or straight by the driver.

Bulk inserts and lookups go to the driver itself (db.bulk), so its own
exceptions reach the writer unwrapped: a unique key taken by a concurrent
writer must still be retried, and a database that went away must still be a
503 that senders retry.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from watchkeeper.alerts import store, writer
from watchkeeper.alerts.ingest import IngestGate, error_reply
from watchkeeper.alerts.models import Alert, Integration
from watchkeeper.alerts.writer import IngestJob
from watchkeeper.api.context import AppContext
from watchkeeper.clock import FixedClock

RealWrite = Callable[[Session, Sequence[IngestJob], AppContext], list[store.IngestResult]]


def _driver_error(app: FastAPI, kind: str) -> Exception:
    postgres = app.state.ctx.db.is_postgres
    if kind == "deadlock":
        # psycopg files a deadlock (SQLSTATE 40P01) under OperationalError, as it
        # does a lost connection; only the second means the database is unavailable.
        reason = psycopg.errors.DeadlockDetected("deadlock detected")
        return OperationalError("UPDATE alerts …", {}, reason)
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


@pytest.mark.parametrize("race", ["conflict", "deadlock"])
def test_a_race_with_another_writer_is_retried(
    app: FastAPI, clock: FixedClock, monkeypatch: pytest.MonkeyPatch, race: str
) -> None:
    real: RealWrite = writer.write_jobs
    calls: list[int] = []

    def flaky(session: Session, jobs: Sequence[IngestJob], ctx: AppContext) -> Any:
        calls.append(len(jobs))
        if len(calls) <= 2:  # the batch, then the first job alone
            raise _driver_error(app, race)
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


def _event(key: str) -> dict[str, Any]:
    return {
        "routing_key": "pd",
        "event_action": "trigger",
        "dedup_key": key,
        "payload": {"summary": key, "source": "test", "severity": "critical"},
    }


def test_postgresql_going_away_mid_load_answers_503_and_loses_nothing_accepted(
    app: FastAPI, clock: FixedClock, client: TestClient
) -> None:
    ctx = app.state.ctx
    if not ctx.db.is_postgres:
        pytest.skip("SQLite's counterpart is tests/db/test_sqlite_busy.py")
    jobs = _jobs(app, clock)  # also caches the integration, as a running server has
    assert client.post("/v2/enqueue", json=_event("before")).status_code == 202
    url = ctx.db.engine.url
    admin_url = url.set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin_url.render_as_string(hide_password=False), autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{url.database}" WITH ALLOW_CONNECTIONS false')
        try:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (url.database,),
            )
            # The pooled connections are dead and no new one is let in.
            response = client.post("/v2/enqueue", json=_event("during"))
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"] == "5"
            ctx.services["ingest"].writer._commit(jobs)
            assert all(error_reply(job.future.exception()).status == 503 for job in jobs)
        finally:
            admin.execute(f'ALTER DATABASE "{url.database}" WITH ALLOW_CONNECTIONS true')
    response = client.post("/v2/enqueue", json=_event("after"))
    assert response.status_code == 202
    with ctx.db.read() as session:
        titles = set(session.scalars(select(Alert.title)))
    assert titles == {"before", "after"}


def test_a_value_the_database_refuses_answers_400_not_retry(
    app: FastAPI, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A refused value (too long, out of range) would be refused again: a 503
    # would have the sender retry it forever.
    postgres = app.state.ctx.db.is_postgres
    refused = (
        psycopg.errors.StringDataRightTruncation("value too long for type character varying(8)")
        if postgres
        else sqlite3.DataError("string or blob too big")
    )

    def refuse(session: Session, jobs: Sequence[IngestJob], ctx: AppContext) -> Any:
        raise refused

    monkeypatch.setattr(writer, "write_jobs", refuse)
    jobs = _jobs(app, clock)
    app.state.ctx.services["ingest"].writer._commit(jobs)
    for job in jobs:
        reply = error_reply(job.future.exception())  # type: ignore[arg-type]
        assert reply.status == 400
        assert reply.body is not None
        assert str(refused) in reply.body["error"]["message"]
        assert not reply.headers


def test_concurrent_writers_lock_shared_alerts_in_one_order(
    app: FastAPI, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two Prometheus replicas send the same alerts in different orders. A writer
    # that locked them in payload order could deadlock with another that holds
    # the first and then wants the second; in id order it just waits its turn.
    ctx = app.state.ctx
    if not ctx.db.is_postgres:
        pytest.skip("SQLite has one writer at a time: no row locks to order")
    with ctx.db.write() as session:
        session.add(
            Integration(name="prom", kind="prometheus", token="prom", created_at=clock.now())
        )
    gate: IngestGate = ctx.services["ingest"]
    integration = gate.integration("prom")

    def send(*instances: str) -> store.IngestResult:
        body = [{"labels": {"alertname": "Down", "instance": i}} for i in instances]
        return gate.accept(integration, body, json.dumps(body))

    send("first", "second")
    with ctx.db.read() as session:
        first_id, second_id = session.scalars(select(Alert.id).order_by(Alert.id)).all()
    url = ctx.db.engine.url.render_as_string(hide_password=False).replace("+psycopg", "")
    real: RealWrite = writer.write_jobs
    attempts: list[int] = []

    def counted(session: Session, jobs: Sequence[IngestJob], ctx: AppContext) -> Any:
        attempts.append(len(jobs))
        return real(session, jobs, ctx)

    monkeypatch.setattr(writer, "write_jobs", counted)
    results: list[store.IngestResult | BaseException] = []
    with psycopg.connect(url) as other:
        other.execute("SET lock_timeout = '10s'")
        other.execute("SELECT 1 FROM alerts WHERE id = %s FOR UPDATE", (first_id,))
        writer_thread = threading.Thread(
            target=lambda: results.append(_catch(lambda: send("second", "first")))
        )
        writer_thread.start()
        _wait_for_lock_wait(other, writer_thread)
        # The writer waits for "first" holding nothing; taking "second" now
        # must not deadlock (it did when the writer had locked "second" first).
        other.execute("SELECT 1 FROM alerts WHERE id = %s FOR UPDATE", (second_id,))
        other.commit()
        writer_thread.join(timeout=30)
    (result,) = results
    assert isinstance(result, store.IngestResult), result
    assert result.repeated_alerts == 2
    assert attempts == [1]  # stored at once: no deadlock detected, no retry


def _catch(call: Callable[[], store.IngestResult]) -> store.IngestResult | BaseException:
    try:
        return call()
    except BaseException as exc:
        return exc


def _wait_for_lock_wait(conn: psycopg.Connection[Any], thread: threading.Thread) -> None:
    """Until another backend of this database waits for a row lock."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and thread.is_alive():
        with psycopg.connect(conn.info.dsn, autocommit=True) as probe:
            waiting = probe.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            ).fetchone()
        if waiting and waiting[0]:
            return
        time.sleep(0.02)
    raise AssertionError("the writer never waited for the locked alert")
