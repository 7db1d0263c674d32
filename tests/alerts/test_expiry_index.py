"""The endsAt sweep reads firing alerts through their partial index, not the whole history."""

from __future__ import annotations

from sqlalchemy import text

from watchkeeper.alerts import housekeeping
from watchkeeper.clock import FixedClock
from watchkeeper.db.engine import Database


def test_the_endsat_sweep_can_use_the_index_of_firing_alerts(
    db: Database, clock: FixedClock
) -> None:
    # The index holds only firing alerts with an endsAt; a database uses it only
    # when the query's WHERE implies that. Drop a term from the sweep (or change
    # the index) and this fails, and the sweep scans every alert ever stored.
    query = housekeeping.expiring(clock.now())
    sql = str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))
    with db.read() as session:
        if db.is_postgres:
            session.execute(text("SET LOCAL enable_seqscan = off"))
            plan = [row[0] for row in session.execute(text("EXPLAIN " + sql))]
        else:
            plan = [row[-1] for row in session.execute(text("EXPLAIN QUERY PLAN " + sql))]
    assert any("ix_alerts_firing_ends_at" in line for line in plan), plan
