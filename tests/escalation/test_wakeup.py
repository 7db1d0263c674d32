"""Waking the engine on commit, and which PostgreSQL process reads the outbox."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import make_url
from sqlalchemy.orm import Session

from tests.conftest import T0
from tests.e2e.procs import wait_until
from watchkeeper.alerts import store
from watchkeeper.db.engine import WAKE_CHANNEL, Database, process_tag, take_claim_request
from watchkeeper.escalation.wakeup import OutboxLeadership, libpq_url
from watchkeeper.notify import dispatch


class Wakes:
    def __init__(self) -> None:
        self.count = 0
        self.event = threading.Event()

    def __call__(self) -> None:
        self.count += 1
        self.event.set()


@pytest.fixture
def wakes(db: Database) -> Iterator[Wakes]:
    counter = Wakes()
    db.wake_listeners.append(counter)
    yield counter
    db.wake_listeners.remove(counter)


@pytest.fixture
def listener(db: Database, db_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]] | None]:
    """A connection LISTENing on the wake channel (None on SQLite, which has no NOTIFY)."""
    if not db.is_postgres:
        yield None
        return
    conn = psycopg.connect(libpq_url(make_url(db_url)), autocommit=True)
    conn.execute(f"LISTEN {WAKE_CHANNEL}")
    yield conn
    conn.close()


def _postgres_only(
    listener: psycopg.Connection[tuple[object, ...]] | None,
) -> psycopg.Connection[tuple[object, ...]]:
    if listener is None:
        pytest.skip("NOTIFY is PostgreSQL's")
    return listener


def _drain(conn: psycopg.Connection[tuple[object, ...]]) -> list[str]:
    return [note.payload for note in conn.notifies(timeout=0.5)]


def test_a_new_group_wakes_after_commit_and_a_repeat_does_not(
    db: Database, wakes: Wakes, listener: psycopg.Connection[tuple[object, ...]] | None
) -> None:
    with db.write() as session:
        store.outbox(session, T0, [("group.alert_added", 1, {})])
    assert wakes.count == 0
    if listener is not None:
        assert _drain(listener) == []

    with db.write() as session:
        store.outbox(session, T0, [("group.created", 1, {}), ("group.alert_added", 1, {})])
        store.outbox(session, T0, [("group.acknowledged", 1, {})])
        assert wakes.count == 0, "woken before the commit"
    assert wakes.count == 1
    if listener is not None:
        # One NOTIFY per transaction, naming this process.
        assert _drain(listener) == [process_tag()]


def test_a_rolled_back_transaction_wakes_nobody(
    db: Database, wakes: Wakes, listener: psycopg.Connection[tuple[object, ...]] | None
) -> None:
    def fail_after_writing() -> None:
        with db.write() as session:
            store.outbox(session, T0, [("group.created", 1, {})])
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail_after_writing()
    assert wakes.count == 0
    if listener is not None:
        assert _drain(listener) == []


def test_a_rolled_back_savepoint_does_not_swallow_the_next_notify(
    db: Database, wakes: Wakes, listener: psycopg.Connection[tuple[object, ...]] | None
) -> None:
    notes = _postgres_only(listener)

    def fail_in_savepoint(session: Session) -> None:
        with session.begin_nested():
            store.outbox(session, T0, [("group.created", 1, {})])
            raise RuntimeError("rolled back with its savepoint")

    with db.write() as session:
        with pytest.raises(RuntimeError):
            fail_in_savepoint(session)
        store.outbox(session, T0, [("group.resolved", 1, {})])
    assert _drain(notes) == [process_tag()]


def test_one_process_leads_and_another_takes_over_when_it_stops(db: Database, db_url: str) -> None:
    if not db.is_postgres:
        pytest.skip("one SQLite process owns the database; leadership is PostgreSQL's")
    url = db.engine.url
    first_wakes, second_wakes = Wakes(), Wakes()
    changes: list[bool] = []
    first = OutboxLeadership(url, first_wakes, changes.append)
    second = OutboxLeadership(url, second_wakes)
    first.start()
    try:
        wait_until(lambda: first.is_leader, timeout=10, what="the first process to lead")
        second.start()
        # The follower tries for the lock every second and must keep failing.
        wait_until(lambda: second.running, timeout=5, what="the second to run")
        threading.Event().wait(1.5)
        assert not second.is_leader

        # A commit in another process (a foreign tag) wakes the leader only.
        first_wakes.event.clear()
        before = second_wakes.count
        with psycopg.connect(libpq_url(make_url(db_url)), autocommit=True) as other:
            other.execute("SELECT pg_notify(%s, 'elsewhere')", (WAKE_CHANNEL,))
        assert first_wakes.event.wait(5), "the leader was not woken by NOTIFY"
        assert second_wakes.count == before

        # Its own process's notifications do not wake it twice.
        first_wakes.event.clear()
        with psycopg.connect(libpq_url(make_url(db_url)), autocommit=True) as same:
            same.execute("SELECT pg_notify(%s, %s)", (WAKE_CHANNEL, process_tag()))
        assert not first_wakes.event.wait(1.5)

        first.stop()
        assert not first.is_leader
        assert changes == [True, False]
        wait_until(lambda: second.is_leader, timeout=10, what="the second process to take over")
        # Taking over wakes the new leader for whatever is waiting.
        assert second_wakes.count > before
    finally:
        first.stop()
        second.stop()


def test_a_released_savepoint_does_not_wake_before_the_commit(db: Database, wakes: Wakes) -> None:
    with db.write() as session:
        with session.begin_nested():
            store.outbox(session, T0, [("group.created", 1, {})])
        assert wakes.count == 0, "woken at RELEASE SAVEPOINT, before anything is visible"
    assert wakes.count == 1


def test_the_leaders_own_commits_wake_it_without_a_notify(
    db: Database, wakes: Wakes, listener: psycopg.Connection[tuple[object, ...]] | None
) -> None:
    notes = _postgres_only(listener)
    db.reads_outbox_here = True
    with db.write() as session:
        store.outbox(session, T0, [("group.created", 1, {})])
    assert wakes.count == 1
    assert _drain(notes) == []


def _queue(session: Session, key: str) -> None:
    dispatch.queue_deliveries(
        session,
        [{"idempotency_key": key, "channel": "webhook", "kind": "test", "message": {}}],
        now=T0,
    )


def test_deliveries_queued_outside_the_engine_ask_for_a_claim_after_the_commit(
    db: Database,
) -> None:
    asked: list[str] = []
    db.claim_listeners.append(lambda: asked.append("claim"))
    with db.write() as session:
        _queue(session, "api")
        assert asked == [], "asked before the commit: the pass would find nothing yet"
    assert asked == ["claim"]

    def roll_back() -> None:
        with db.write() as session:
            _queue(session, "rolled back")
            raise RuntimeError("nothing was queued after all")

    with pytest.raises(RuntimeError):
        roll_back()
    assert asked == ["claim"]

    with db.write() as session:  # the engine's own pass takes the request itself
        _queue(session, "engine")
        assert take_claim_request(session)
    assert asked == ["claim"]
