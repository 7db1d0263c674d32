"""Ids missing from the outbox: a commit still running (wait) or a rollback (skip, later)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, select

from tests.conftest import T0
from watchkeeper.alerts.models import OutboxCursor
from watchkeeper.alerts.store import OUTBOX
from watchkeeper.db.engine import Database
from watchkeeper.escalation import consumer


def _consume(db: Database, seconds_later: float) -> tuple[int, int]:
    """(events handled, cursor position) after one read of the outbox."""
    with db.write() as session:
        handled = consumer.consume(
            session,
            now=T0 + timedelta(seconds=seconds_later),
            lock=db.is_postgres,
            base_url="http://wk.example",
            ack_url_for=lambda group_id, user_id: None,
        )
    with db.read() as session:
        position = session.scalar(
            select(OutboxCursor.last_id).where(OutboxCursor.consumer == consumer.CONSUMER)
        )
    return handled, int(position or 0)


def test_gaps_wait_then_are_skipped_even_wider_than_a_read(db: Database) -> None:
    far = 3 + 3 * consumer.BATCH  # beyond the window one read looks at
    with db.write() as session:
        session.execute(
            insert(OUTBOX),
            [
                {"id": event_id, "at": T0, "topic": "group.created", "payload": {}}
                for event_id in (1, 3, far)
            ],
        )
    patience = consumer.GAP_PATIENCE.total_seconds()
    # Id 2 may be a transaction still committing: stop before it.
    assert _consume(db, 1) == (1, 1)
    assert _consume(db, 1) == (0, 1)
    # Long enough: it rolled back. Skip it, then the ids up to ``far``.
    assert _consume(db, patience + 1) == (1, 3)
    assert _consume(db, patience + 1) == (1, far)
    assert _consume(db, patience + 1) == (0, far)
