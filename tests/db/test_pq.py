"""Ingest's statements sent through libpq itself (db/pq.py), against a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.orm import Session

from watchkeeper.db import pq
from watchkeeper.db.bulk import driver_of
from watchkeeper.db.engine import Database

pytestmark = pytest.mark.skipif(not pq.AVAILABLE, reason="needs libpq 17 (psycopg[binary] has it)")

UNNEST = "SELECT x FROM unnest(%s::text[]) WITH ORDINALITY AS u(x, n) ORDER BY n"


@pytest.fixture
def pg(db: Database) -> Iterator[Database]:
    if not db.is_postgres:
        pytest.skip("libpq is PostgreSQL's")
    with db.write() as session:
        session.execute(
            text("CREATE TABLE IF NOT EXISTS pq_t (id serial PRIMARY KEY, k text UNIQUE)")
        )
    yield db
    with db.write() as session:
        session.execute(text("DROP TABLE IF EXISTS pq_t"))


def _ours(session: Session) -> set[str]:
    return set(
        session.scalars(
            text("SELECT name FROM pg_prepared_statements WHERE name LIKE 'wk\\_%'")
        ).all()
    )


def test_values_arrive_as_psycopg_would_send_them(pg: Database) -> None:
    at = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    tricky = ['a"b', "c\\d", "e,f", "{g}", "NULL", "", " h ", "ü 🚨", None]
    values = ("x'y", -(2**62), True, at, tricky)
    echo = "SELECT %s::text, %s::int8, %s::bool, %s::timestamptz::text, %s::text[]::text"
    with pg.write() as session:
        _, driver = driver_of(session)
        (rows,) = pq.run(driver, [(echo, values)])
        expected = driver.execute(echo, values).fetchone()
    # Integers come back as ints, everything else as PostgreSQL's text output.
    assert rows == [("x'y", -(2**62), "t", expected[3], expected[4])]
    assert expected[4] == '{"a\\"b","c\\\\d","e,f","{g}","NULL",""," h ","ü 🚨",NULL}'
    assert datetime.fromisoformat(expected[3]) == at


TEXTS = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.one_of(st.none(), TEXTS)))
def test_any_text_array_round_trips(pg: Database, values: list[str | None]) -> None:
    with pg.write() as session:
        _, driver = driver_of(session)
        (rows,) = pq.run(driver, [(UNNEST, (values,))])
    assert [row[0] for row in rows] == values


def test_a_nul_character_is_refused_as_psycopg_refuses_it(pg: Database) -> None:
    with pg.write() as session:
        _, driver = driver_of(session)
        with pytest.raises(psycopg.DataError):
            pq.run(driver, [(UNNEST, (["a\x00b"],))])
        with pytest.raises(psycopg.DataError):
            driver.execute(UNNEST, (["a\x00b"],))


def test_a_value_it_cannot_send_is_refused_before_anything_is_sent(pg: Database) -> None:
    with pg.write() as session:
        _, driver = driver_of(session)
        with pytest.raises(pq.Unsupported):
            pq.run(driver, [("INSERT INTO pq_t (k) VALUES (%s)", ("a",)), (UNNEST, ({1.5},))])
        assert driver.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert session.scalar(text("SELECT count(*) FROM pq_t")) == 0


def test_statements_are_prepared_once_per_connection_and_run_in_the_transaction(
    pg: Database,
) -> None:
    insert = "INSERT INTO pq_t (k) VALUES (%s) RETURNING id"
    with pg.write() as session:
        _, driver = driver_of(session)
        first = pq.run(driver, [(insert, ("a",)), (insert, ("b",))])
        names = _ours(session)
        second = pq.run(driver, [(insert, ("c",))])
        assert _ours(session) == names and len(names) == 1
    assert [rows[0][0] for rows in (*first, *second)] == [1, 2, 3]
    with pg.write() as session:  # a rolled back transaction takes its rows with it
        pq.run(driver_of(session)[1], [(insert, ("d",))])
        session.rollback()
    with pg.read() as session:
        assert session.scalars(text("SELECT k FROM pq_t ORDER BY id")).all() == ["a", "b", "c"]


@pytest.mark.parametrize("psycopg_prepared", [True, False], ids=["deallocated", "kept"])
def test_after_a_rollback_they_are_prepared_again_whether_or_not_psycopg_dropped_them(
    pg: Database, psycopg_prepared: bool
) -> None:
    """psycopg's rollback deallocates every statement only when it prepared some itself."""
    insert = "INSERT INTO pq_t (k) VALUES (%s)"
    session = pg.session(write=True)
    try:
        driver: Any = driver_of(session)[1]
        pq.run(driver, [(insert, ("a",))])
        if psycopg_prepared:
            driver.prepare_threshold, threshold = 0, driver.prepare_threshold
            driver.execute("SELECT 2")  # psycopg has a prepared statement of its own now
            driver.prepare_threshold = threshold
        session.rollback()  # as after any failed transaction on this connection
        assert bool(_ours(session)) is not psycopg_prepared
        driver = driver_of(session)[1]
        pq.run(driver, [(insert, ("b",))])  # neither "does not exist" nor "already exists"
        assert len(_ours(session)) == 1
        session.commit()
    finally:
        session.close()
    with pg.read() as session:
        assert session.scalars(text("SELECT k FROM pq_t")).all() == ["b"]


def test_an_error_is_psycopgs_own_and_the_connection_recovers(pg: Database) -> None:
    insert = "INSERT INTO pq_t (k) VALUES (%s)"
    with pg.write() as session:
        pq.run(driver_of(session)[1], [(insert, ("taken",))])
    statements = [(insert, ("new",)), (insert, ("taken",)), (UNNEST, (["x"],))]
    with pg.write() as session:
        driver = driver_of(session)[1]
        with pytest.raises(psycopg.errors.UniqueViolation):
            pq.run(driver, statements)
        session.rollback()
    with pg.write() as session:
        (rows,) = pq.run(driver_of(session)[1], [(UNNEST, (["again"],))])
        assert rows == [("again",)]
    with pg.read() as session:
        assert session.scalars(text("SELECT k FROM pq_t")).all() == ["taken"]


def _alert(fingerprint: str, now: datetime) -> Any:
    from watchkeeper.alerts.normalized import NormalizedAlert

    return NormalizedAlert(
        fingerprint=fingerprint,
        action="fire",
        group_key=fingerprint,
        title="down",
        message="",
        severity="critical",
        labels={},
        annotations={},
        starts_at=now,
        ends_at=None,
        source_url=None,
        links=(),
    )


@pytest.mark.parametrize("through_libpq", [True, False], ids=["libpq", "cursors"])
def test_ingest_stores_the_same_either_way(
    pg: Database, monkeypatch: pytest.MonkeyPatch, through_libpq: bool
) -> None:
    """With an older libpq, ingest's statements go through psycopg's cursors instead."""
    from watchkeeper.alerts.batch import Payload, ingest_many
    from watchkeeper.alerts.models import Integration

    monkeypatch.setattr(pq, "AVAILABLE", through_libpq)
    now = datetime(2026, 3, 1, tzinfo=UTC)
    with pg.write() as session:
        integration = Integration(name="pd", kind="pagerduty", token="pd", created_at=now)
        session.add(integration)
        session.flush()
        first = ingest_many(session, [Payload(integration, [_alert("a", now)], "{}")], now)
    with pg.write() as session:
        again = [Payload(integration, [_alert("a", now), _alert("b", now)], "{}")] * 2
        second = ingest_many(session, again, now)
        ours = _ours(session)
    assert [r.new_alerts for r in first] == [1]
    assert [(r.new_alerts, r.repeated_alerts, len(r.created_group_ids)) for r in second] == [
        (1, 1, 1),
        (0, 2, 0),
    ]
    assert bool(ours) is through_libpq
    with pg.read() as session:
        rows = session.execute(text("SELECT fingerprint, repeat_count FROM alerts ORDER BY id"))
        assert [tuple(row) for row in rows] == [("a", 2), ("b", 1)]


def test_ingest_commits_through_it(pg: Database) -> None:
    """The writer's lookups and inserts are the statements prepared under our names."""
    from watchkeeper.alerts.batch import Payload, ingest_many
    from watchkeeper.alerts.models import Integration

    now = datetime(2026, 3, 1, tzinfo=UTC)
    with pg.write() as session:
        integration = Integration(name="pd", kind="pagerduty", token="pd", created_at=now)
        session.add(integration)
        session.flush()
        ingest_many(session, [Payload(integration, [_alert("k1", now)], "{}")], now)
        statements = session.scalars(
            text("SELECT statement FROM pg_prepared_statements WHERE name LIKE 'wk\\_%'")
        ).all()
    assert any("FROM alerts" in s for s in statements)  # the open-alert lookup
    assert any(s.startswith("INSERT INTO alerts") for s in statements)
    assert any(s.startswith("INSERT INTO raw_payloads") for s in statements)


def _count_elsewhere(pg: Database, table: str) -> int:
    """Rows of ``table`` as another connection sees them: what is committed."""
    with pg.read() as other:
        return int(other.scalar(text(f"SELECT count(*) FROM {table}")) or 0)


def test_a_pipeline_can_end_with_the_commit(pg: Database) -> None:
    insert = "INSERT INTO pq_t (k) VALUES (%s)"
    with pg.write() as session:
        driver = driver_of(session)[1]
        pq.run(driver, [(insert, ("one",)), (insert, ("two",))], commit=True)
        # Committed before the session's own commit, which then has nothing to do.
        assert driver.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert _count_elsewhere(pg, "pq_t") == 2
    with pg.write() as session:  # the connection goes on as usual
        pq.run(driver_of(session)[1], [(insert, ("three",))])
    assert _count_elsewhere(pg, "pq_t") == 3


def test_a_failed_statement_takes_the_pipelines_commit_with_it(pg: Database) -> None:
    insert = "INSERT INTO pq_t (k) VALUES (%s)"
    with pg.write() as session:
        pq.run(driver_of(session)[1], [(insert, ("taken",))])
    with pg.write() as session:
        driver = driver_of(session)[1]
        with pytest.raises(psycopg.errors.UniqueViolation):
            pq.run(driver, [(insert, ("new",)), (insert, ("taken",))], commit=True)
        session.rollback()
    with pg.read() as session:
        assert session.scalars(text("SELECT k FROM pq_t")).all() == ["taken"]


class _Spy:
    """Records each libpq pipeline of a commit: whether it committed, and what was stored then."""

    def __init__(self, pg: Database, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[bool, int]] = []
        real = pq.run

        def run(driver: Any, statements: Any, *, commit: bool = False) -> Any:
            rows = real(driver, statements, commit=commit)
            self.calls.append((commit, _count_elsewhere(pg, "raw_payloads")))
            return rows

        monkeypatch.setattr(pq, "run", run)


def _integration(pg: Database, now: datetime, **options: Any) -> Any:
    from watchkeeper.alerts.models import Integration

    with pg.write() as session:
        integration = Integration(
            name="pd", kind="pagerduty", token="pd", created_at=now, options=options
        )
        session.add(integration)
        session.flush()
        session.expunge(integration)
    return integration


def test_a_commit_of_new_alerts_ends_with_its_inserts(
    pg: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two round trips, not three: the COMMIT travels with the inserts."""
    from watchkeeper.alerts.batch import Payload, ingest_many

    now = datetime(2026, 3, 1, tzinfo=UTC)
    integration = _integration(pg, now)
    spy = _Spy(pg, monkeypatch)
    with pg.write() as session:
        payloads = [Payload(integration, [_alert("a", now)], "{}")]
        ingest_many(session, payloads, now, commit=True)
    # lookups, then inserts with the commit: the payload was stored by then
    assert spy.calls == [(False, 0), (True, 1)]


def test_updates_after_the_inserts_keep_the_commit_for_the_session(
    pg: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A repeat moves its group's counters after the inserts: those commit with them."""
    from watchkeeper.alerts.batch import Payload, ingest_many

    now = datetime(2026, 3, 1, tzinfo=UTC)
    integration = _integration(pg, now)
    with pg.write() as session:
        ingest_many(session, [Payload(integration, [_alert("a", now)], "{}")], now)
    spy = _Spy(pg, monkeypatch)
    with pg.write() as session:
        payloads = [Payload(integration, [_alert("a", now), _alert("b", now)], "{}")]
        ingest_many(session, payloads, now, commit=True)
        assert [commit for commit, _ in spy.calls] == [False] * len(spy.calls)
        assert _count_elsewhere(pg, "raw_payloads") == 1  # not yet
    assert _count_elsewhere(pg, "raw_payloads") == 2
    with pg.read() as session:
        counts = session.execute(text("SELECT alerts_count FROM alert_groups ORDER BY id"))
        assert [row[0] for row in counts] == [1, 1]
        repeats = session.execute(text("SELECT fingerprint, repeat_count FROM alerts ORDER BY id"))
        assert [tuple(row) for row in repeats] == [("a", 1), ("b", 0)]


def test_template_errors_are_recorded_before_anything_commits(
    pg: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer records a payload's template errors in the same transaction as its alerts."""
    from watchkeeper.alerts import integrations as svc
    from watchkeeper.alerts import writer
    from watchkeeper.alerts.writer import IngestJob

    now = datetime(2026, 3, 1, tzinfo=UTC)
    integration = _integration(pg, now)
    seen: list[tuple[int, psycopg.pq.TransactionStatus]] = []
    real = svc.record_template_errors

    def record(session: Session, **kwargs: Any) -> None:
        status = driver_of(session)[1].pgconn.transaction_status
        seen.append((_count_elsewhere(pg, "raw_payloads"), status))
        real(session, **kwargs)

    monkeypatch.setattr(svc, "record_template_errors", record)

    class Ctx:
        clock = type("Clock", (), {"now": staticmethod(lambda: now)})

    job = IngestJob(integration, [_alert("a", now)], "{}", template_errors=["title: boom"])
    with pg.write() as session:
        writer.write_jobs(session, [job], Ctx())  # type: ignore[arg-type]
    assert seen == [(0, psycopg.pq.TransactionStatus.INTRANS)]
    assert _count_elsewhere(pg, "raw_payloads") == 1
