"""The engine's outbox read is prepared on PostgreSQL; its generic plan stays an id range scan."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.orm import Session

from watchkeeper.alerts import store
from watchkeeper.db.bulk import driver_of
from watchkeeper.db.engine import Database
from watchkeeper.escalation import consumer

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_the_outbox_read_runs_a_prepared_generic_plan_that_scans_only_the_id_window(
    db: Database,
) -> None:
    if not db.is_postgres:
        pytest.skip("SQLite has no prepared generic plans to check")
    with db.write() as session:
        store.outbox(session, NOW, [("group.created", None, {}), ("group.alert_added", None, {})])
    with db.write() as session:
        assert _consume(session) == 1
        name, statement, custom_plans = session.execute(
            text(
                "SELECT name, statement, custom_plans FROM pg_prepared_statements "
                "WHERE statement LIKE '%outbox.topic%'"
            )
        ).one()
        # Prepared, and never planned again for its values: a custom plan per
        # run is what made the read cost more to plan than to run.
        assert custom_plans == 0
        _assert_range_scan(session, name, statement, after=0)
    _grow(db)
    db.engine.dispose()  # a new connection prepares the read against the grown, analyzed tables
    with db.write() as session:
        _consume(session)
        name, statement = session.execute(
            text(
                "SELECT name, statement FROM pg_prepared_statements "
                "WHERE statement LIKE '%outbox.topic%'"
            )
        ).one()
        _assert_range_scan(session, name, statement, after=0)


def _consume(session: Session) -> int:
    return consumer.consume(
        session, now=NOW, lock=True, base_url="http://wk", ack_url_for=lambda _g, _u: None
    )


def _assert_range_scan(session: Session, name: str, statement: str, *, after: int) -> None:
    """EXPLAIN the prepared read for the window after ``after``: its generic plan.

    (The values only have to fit the parameters' types: psycopg sent small ids
    as smallint, and a generic plan is the same whatever they are.)
    """
    values = _arguments(statement, after=after)
    _, driver = driver_of(session)
    query = sql.SQL("EXPLAIN EXECUTE {}({})").format(
        sql.Identifier(name), sql.SQL(", ").join(sql.Literal(v) for v in values)
    )
    rows = driver.execute(query)
    plan = "\n".join(str(row[0]) for row in rows)
    assert "Seq Scan" not in plan, plan
    # The window bounds the scan of the outbox's primary key; groups are probed by id.
    assert "Index Scan using pk_outbox on outbox" in plan, plan
    assert re.search(r"Index Cond: \(\(id > \(?\$\d+.*\) AND \(id <= \(?\$\d+", plan), plan
    assert "Index Cond: (id = outbox.group_id)" in plan, plan


def _arguments(statement: str, *, after: int) -> list[object]:
    """A value for each $n of the statement: the topics, the id window and the limits."""
    count = max(int(n) for n in re.findall(r"\$(\d+)", statement))
    values: list[object] = [None] * count
    topics = iter(sorted(consumer.WANTED))
    listed = re.search(r"IN \(([^)]*)\)", statement)
    assert listed is not None, statement
    for number in re.findall(r"\$(\d+)", listed.group(1)):
        values[int(number) - 1] = next(topics)
    for pattern, value in (
        (r"outbox\.id > \$(\d+)", after),
        (r"outbox\.id <= \$(\d+)", after + consumer.BATCH),
        (r"LIMIT \$(\d+)", consumer.BATCH),
    ):
        for number in re.findall(pattern, statement):
            values[int(number) - 1] = value
    assert None not in values, (statement, values)
    return values


def _grow(db: Database) -> None:
    """100,000 outbox events over 50,000 groups, analyzed."""
    url = db.engine.url.render_as_string(hide_password=False).replace("+psycopg", "")
    with psycopg.connect(url) as conn:
        (iid,) = conn.execute(
            "INSERT INTO integrations (name, kind, token, templates, options, maintenance, "
            "template_errors, heartbeat_expired, created_at) "
            "VALUES ('plan', 'pagerduty', 'plan', '{}', '{}', false, '[]', false, %s) RETURNING id",
            (NOW,),
        ).fetchone() or (None,)
        conn.execute(
            "INSERT INTO alert_groups (integration_id, group_key, status, title, message, "
            "severity, labels, links, alerts_count, firing_count, maintenance, created_at, "
            "updated_at, last_alert_at) SELECT %s, 'k' || g, 'resolved', 't', '', 'critical', "
            "'{}', '[]', 1, 0, false, %s, %s, %s FROM generate_series(1, 50000) g",
            (iid, NOW, NOW, NOW),
        )
        conn.execute(
            "INSERT INTO outbox (at, topic, group_id, payload) SELECT %s, CASE WHEN g %% 2 = 0 "
            "THEN 'group.created' ELSE 'group.alert_added' END, "
            "(SELECT min(id) FROM alert_groups) + g / 2, '{}' FROM generate_series(1, 100000) g",
            (NOW,),
        )
        conn.execute("ANALYZE")


def test_the_outbox_read_is_rendered_once_not_on_every_pass(db: Database) -> None:
    """The topics the engine acts on are constants of the statement's text.

    As an expanding parameter (a list of values), SQLAlchemy rendered them
    into the statement anew on every pass; the read also stays one fixed
    text, which is what lets PostgreSQL keep it prepared.
    """
    query = consumer._new_events(db.is_postgres)
    compiled = query.compile(dialect=db.engine.dialect)
    assert not compiled.post_compile_params
    assert not [v for v in compiled.params.values() if isinstance(v, list | tuple | set)]
    for topic in consumer.WANTED:
        assert f"'{topic}'" in str(compiled)
    with db.write() as session:  # and it reads what it reads
        store.outbox(session, NOW, [("group.created", None, {}), ("group.alert_added", None, {})])
    with db.write() as session:
        assert _consume(session) == 1
