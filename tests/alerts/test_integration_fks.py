"""Ingest writes no foreign key to its integration: no row lock on it, orphans pruned."""

from __future__ import annotations

import json

import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, select, text

from watchkeeper.alerts import housekeeping
from watchkeeper.alerts.ingest import IngestGate
from watchkeeper.alerts.models import Alert, AlertGroup, GroupEvent, Integration, RawPayload
from watchkeeper.alerts.writer import IngestJob, write_jobs
from watchkeeper.clock import FixedClock

from .test_writer_errors import _event
from .test_writer_threads import _trigger


def _job(gate: IngestGate, token: str, key: str) -> IngestJob:
    body = {**_event(key), "routing_key": token}
    return gate.parse(gate.integration(token), body, json.dumps(body))


def _pd(app: FastAPI, clock: FixedClock, name: str = "pd") -> IngestGate:
    ctx = app.state.ctx
    with ctx.db.write() as session:
        session.add(Integration(name=name, kind="pagerduty", token=name, created_at=clock.now()))
    gate: IngestGate = ctx.services["ingest"]
    return gate


def test_ingest_does_not_wait_for_a_lock_on_its_integration_row(
    app: FastAPI, clock: FixedClock
) -> None:
    # With foreign keys to integrations, every ingest transaction took a KEY
    # SHARE lock on the integration's row: concurrent ones shared it (a
    # MultiXact each time), and one holding the row FOR UPDATE stopped ingest.
    ctx = app.state.ctx
    if not ctx.db.is_postgres:
        pytest.skip("row locks are PostgreSQL's; SQLite locks the whole database")
    gate = _pd(app, clock)
    job = _trigger(gate, "k")
    url = ctx.db.engine.url.render_as_string(hide_password=False).replace("+psycopg", "")
    with psycopg.connect(url) as other:
        other.execute("SELECT 1 FROM integrations WHERE token = 'pd' FOR UPDATE")
        with ctx.db.write() as session:
            session.execute(text("SET LOCAL lock_timeout = '2s'"))
            [result] = write_jobs(session, [job], ctx)
        other.rollback()
    assert result.new_alerts == 1


def test_prune_deletes_what_ingest_stored_for_an_integration_deleted_meanwhile(
    app: FastAPI, clock: FixedClock
) -> None:
    # Another process may serve a deleted integration's token from its cache
    # for a few seconds: what it stores then has no integration, and the next
    # prune deletes it, whatever its age, alerts and timeline included.
    ctx = app.state.ctx
    gate = _pd(app, clock)
    _pd(app, clock, "kept")
    cached = _trigger(gate, "late")  # parsed against the cached integration
    with ctx.db.write() as session:
        write_jobs(session, [_job(gate, "kept", "k")], ctx)
        session.execute(delete(Integration).where(Integration.token == "pd"))
    with ctx.db.write() as session:
        write_jobs(session, [cached], ctx)
    with ctx.db.write() as session:
        assert housekeeping.prune(session, clock.now(), retention_days=30) == 1
    with ctx.db.read() as session:
        kept_id = session.scalar(select(Integration.id).where(Integration.token == "kept"))
        assert set(session.scalars(select(AlertGroup.integration_id))) == {kept_id}
        assert set(session.scalars(select(Alert.integration_id))) == {kept_id}
        group_ids = set(session.scalars(select(AlertGroup.id)))
        assert set(session.scalars(select(GroupEvent.group_id))) <= group_ids
        # Its payload goes by age, as every payload does.
        assert session.scalar(select(RawPayload.id).limit(1)) is not None


def test_the_sweep_for_deleted_integrations_probes_an_index_per_integration(
    app: FastAPI, clock: FixedClock
) -> None:
    # It runs with every prune, every second while a backlog lasts: a scan of
    # every group each time would grow with the history kept.
    ctx = app.state.ctx
    _pd(app, clock)
    with ctx.db.write() as session:
        session.execute(
            text(
                "INSERT INTO alert_groups (integration_id, group_key, status, title, message, "
                "severity, labels, links, alerts_count, firing_count, maintenance, created_at, "
                "updated_at, last_alert_at) "
                "WITH RECURSIVE n(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM n WHERE g < 5000) "
                "SELECT 1 + g % 3, 'k' || g, 'resolved', 't', '', 'critical', '{}', '[]', 1, 0, "
                ":f, :now, :now, :now FROM n"
            ),
            {"now": clock.now(), "f": False},
        )
        session.execute(text("ANALYZE"))
        explain = "EXPLAIN " if ctx.db.is_postgres else "EXPLAIN QUERY PLAN "
        plan = "\n".join(
            str(row) for row in session.execute(text(explain + housekeeping._GONE_INTEGRATIONS))
        )
        gone = session.scalars(text(housekeeping._GONE_INTEGRATIONS)).all()
    assert sorted(gone) == [2, 3]  # integration 1 exists
    # SQLite names the unique constraint's index sqlite_autoindex_alert_groups_1.
    probe = (
        "uq_alert_groups_open_key"
        if ctx.db.is_postgres
        else "SEARCH alert_groups USING COVERING INDEX"
    )
    assert probe in plan, plan
    assert "Seq Scan on alert_groups" not in plan and "SCAN alert_groups" not in plan, plan
