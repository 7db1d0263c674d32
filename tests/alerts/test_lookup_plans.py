"""Ingest's PostgreSQL lookups are prepared and run generic plans, which must stay index probes."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from watchkeeper.alerts.batch import _OPEN_ALERTS_PG, _OPEN_ALERTS_SQLITE, _OPEN_GROUPS_PG
from watchkeeper.alerts.ingest import IngestGate
from watchkeeper.alerts.models import Integration
from watchkeeper.alerts.writer import write_jobs
from watchkeeper.clock import FixedClock
from watchkeeper.db.engine import Database

from .test_writer_threads import _trigger


@pytest.mark.parametrize(
    ("query", "probe"),
    [
        (_OPEN_ALERTS_PG, "(integration_id = $2) AND ((open_fingerprint)::text = f.fp)"),
        (_OPEN_GROUPS_PG, "(integration_id = $2) AND ((open_key)::text = k.key)"),
    ],
)
def test_generic_plans_probe_the_open_key_index_on_young_and_grown_tables(
    db: Database, query: str, probe: str
) -> None:
    # A prepared statement runs on a generic plan after five executions. A plan
    # costed without the key values must still probe the unique index once per
    # key, on a table never analyzed and on one analyzed with history in it.
    if not db.is_postgres:
        pytest.skip("SQLite has no prepared generic plans to check")
    url = db.engine.url.render_as_string(hide_password=False).replace("+psycopg", "")
    with psycopg.connect(url) as conn:
        conn.execute("SET plan_cache_mode = force_generic_plan")
        conn.execute("PREPARE lookup AS " + query.replace("%s", "$1", 1).replace("%s", "$2", 1))
        # The key itself bounds the index range: not a walk over every
        # alert of the integration filtered afterwards.
        assert f"Index Cond: ({probe})" in _plan(conn)
        _grow(conn)
        assert f"Index Cond: ({probe})" in _plan(conn)
        conn.rollback()


def _plan(conn: psycopg.Connection[tuple[object, ...]]) -> str:
    rows = conn.execute("EXPLAIN EXECUTE lookup(ARRAY['a', 'b']::text[], 1)").fetchall()
    plan = "\n".join(str(row[0]) for row in rows)
    assert "Seq Scan" not in plan, plan
    return plan


def _grow(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """An integration with 5,000 groups and 50,000 alerts, resolved ones among them; analyzed."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    (iid,) = conn.execute(
        "INSERT INTO integrations (name, kind, token, templates, options, maintenance, "
        "template_errors, heartbeat_expired, created_at) "
        "VALUES ('plan', 'pagerduty', 'plan', '{}', '{}', false, '[]', false, %s) RETURNING id",
        (now,),
    ).fetchone() or (None,)
    conn.execute(
        "INSERT INTO alert_groups (integration_id, group_key, open_key, status, title, message, "
        "severity, labels, links, alerts_count, firing_count, maintenance, created_at, "
        "updated_at, last_alert_at) SELECT %s, 'k' || g, CASE WHEN g %% 2 = 0 THEN 'k' || g END, "
        "'firing', 't', '', 'critical', '{}', '[]', 1, 1, false, %s, %s, %s "
        "FROM generate_series(1, 5000) g",
        (iid, now, now, now),
    )
    conn.execute(
        "INSERT INTO alerts (group_id, integration_id, fingerprint, open_fingerprint, status, "
        "title, message, severity, labels, annotations, links, first_seen_at, last_seen_at, "
        "repeat_count) SELECT (SELECT min(id) FROM alert_groups), %s, md5(g::text), "
        "CASE WHEN g %% 2 = 0 THEN md5(g::text) END, 'firing', 't', '', 'critical', '{}', '{}', "
        "'[]', %s, %s, 0 FROM generate_series(1, 50000) g",
        (iid, now, now),
    )
    conn.execute("ANALYZE alerts")
    conn.execute("ANALYZE alert_groups")


def test_the_open_alert_index_holds_open_alerts_only_and_serves_the_lookup(db: Database) -> None:
    # Resolved alerts (open_fingerprint NULL) stay out of the index every
    # ingested alert is looked up and inserted in, so it grows with what fires
    # now, not with the history kept; the lookups must still use it.
    with db.read() as session:
        if db.is_postgres:
            definition = session.scalar(
                text(
                    "SELECT indexdef FROM pg_indexes WHERE indexname = 'uq_alerts_open_fingerprint'"
                )
            )
        else:
            definition = session.scalar(
                text("SELECT sql FROM sqlite_master WHERE name = 'uq_alerts_open_fingerprint'")
            )
            lookup = _OPEN_ALERTS_SQLITE.replace("= ?", "= :i").format(":a, :b")
            plan = session.execute(
                text("EXPLAIN QUERY PLAN " + lookup), {"i": 1, "a": "x", "b": "y"}
            ).all()
            assert "INDEX uq_alerts_open_fingerprint (integration_id=? AND open_fingerprint=?)" in (
                str(plan)
            ), plan
    assert definition is not None
    assert "UNIQUE" in definition.upper()
    assert "WHERE" in definition.upper() and "open_fingerprint IS NOT NULL" in definition


def test_the_lookups_are_prepared_on_the_writers_connection(
    app: FastAPI, clock: FixedClock
) -> None:
    # Connections are made with psycopg's preparing off, under which it
    # ignores even execute(..., prepare=True): the lookups must turn it on.
    ctx = app.state.ctx
    if not ctx.db.is_postgres:
        pytest.skip("prepared statements are PostgreSQL's")
    with ctx.db.write() as session:
        session.add(Integration(name="pd", kind="pagerduty", token="pd", created_at=clock.now()))
    gate: IngestGate = ctx.services["ingest"]
    with ctx.db.write() as session:
        write_jobs(session, [_trigger(gate, "k")], ctx)
        prepared = session.execute(
            text("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
        ).all()
    lookups = [row for row in prepared if "FROM unnest(" in row.statement]
    assert any("FROM alerts" in row.statement for row in lookups), prepared
    assert any("FROM alert_groups" in row.statement for row in lookups), prepared
    # And they run their generic plan, checked above, from the first run on:
    # planned anew for each run (PostgreSQL's choice while the array's length
    # at bind makes a custom plan look cheaper), binding them cost more than
    # running them.
    assert all(row.custom_plans == 0 and row.generic_plans >= 1 for row in lookups), lookups
