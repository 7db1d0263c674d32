"""queue_deliveries writes straight to the driver; what it stores must read back through the ORM."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import T0
from watchkeeper.db.engine import Database
from watchkeeper.notify.dispatch import queue_deliveries
from watchkeeper.notify.models import Delivery


def test_queued_deliveries_read_back_and_repeats_are_skipped(db: Database) -> None:
    row = {
        "idempotency_key": "k1",
        "channel": "webhook",
        "kind": "page",
        "message": {"title": "Disk full", "labels": {"host": "ü"}},
    }
    with db.write() as session:
        assert queue_deliveries(session, [row, {**row, "idempotency_key": "k2"}], now=T0) == 2
        assert queue_deliveries(session, [row], now=T0) == 0  # same key: not twice
    with db.read() as session:
        stored = session.scalars(select(Delivery).order_by(Delivery.id)).all()
    assert [(d.idempotency_key, d.status, d.attempts) for d in stored] == [
        ("k1", "queued", 0),
        ("k2", "queued", 0),
    ]
    assert stored[0].message == row["message"]
    assert stored[0].next_attempt_at == T0 and stored[0].user_id is None


def test_a_column_it_does_not_write_is_an_error_not_a_silent_drop(db: Database) -> None:
    row = {"idempotency_key": "k", "channel": "x", "kind": "page", "message": {}, "sent_at": T0}
    with pytest.raises(ValueError, match="sent_at"), db.write() as session:
        queue_deliveries(session, [row], now=T0)
