"""Periodic sweeps read open alerts and groups through indexes, not the whole history."""

from __future__ import annotations

from sqlalchemy import Select, select, text

from watchkeeper.alerts import groups, housekeeping
from watchkeeper.alerts.models import AlertGroup
from watchkeeper.clock import FixedClock
from watchkeeper.db.engine import Database


def test_the_endsat_sweep_can_use_the_index_of_firing_alerts(
    db: Database, clock: FixedClock
) -> None:
    # The index holds only firing alerts with an endsAt; a database uses it only
    # when the query's WHERE implies that. Drop a term from the sweep (or change
    # the index) and this fails, and the sweep scans every alert ever stored.
    plan = _plan(db, housekeeping.expiring(clock.now()))
    assert any("ix_alerts_firing_ends_at" in line for line in plan), plan


def test_the_auto_resolve_sweep_skips_resolved_groups_by_index(
    db: Database, clock: FixedClock
) -> None:
    # Resolved groups have no open key: the unique (integration, open_key) index
    # reaches the open ones without reading the integration's history.
    plan = _plan(db, groups.quiet_groups(1, clock.now()))
    # The open key must bound the index range, not only filter what it returns.
    probe = (
        "Index Cond: ((integration_id = 1) AND (open_key IS NOT NULL))"
        if db.is_postgres
        else "(integration_id=? AND open_key>?)"
    )
    assert any(probe in line for line in plan), plan


def test_deleting_a_group_finds_the_groups_merged_into_it_by_index(db: Database) -> None:
    # The foreign key's check when a group is deleted (the retention prune) is
    # this lookup; without an index it scanned every group per deleted row.
    plan = _plan(db, select(AlertGroup.id).where(AlertGroup.merged_into_id == 5))
    assert any("ix_alert_groups_merged_into_id" in line for line in plan), plan


def _plan(db: Database, query: Select[object]) -> list[str]:
    """The query's plan lines, with sequential scans discouraged on PostgreSQL."""
    sql = str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))
    with db.read() as session:
        if db.is_postgres:
            session.execute(text("SET LOCAL enable_seqscan = off"))
            return [row[0] for row in session.execute(text("EXPLAIN " + sql))]
        return [row[-1] for row in session.execute(text("EXPLAIN QUERY PLAN " + sql))]
