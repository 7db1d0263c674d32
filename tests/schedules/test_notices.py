"""Outbox events for upcoming shifts and gaps are written once; the oncall CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import T0, Account
from tests.schedules.helpers import add_rotation_layer, create_schedule, iso
from watchkeeper.alerts.models import OutboxEvent
from watchkeeper.clock import FixedClock
from watchkeeper.db.engine import Database
from watchkeeper.schedules import notices

H = timedelta(hours=1)


def test_shift_and_gap_notices_are_written_once(
    client: TestClient,
    admin: Account,
    db: Database,
    clock: FixedClock,
    make_user: Callable[..., int],
) -> None:
    ana, ben = make_user("ana@example.com"), make_user("ben@example.com")
    sid = create_schedule(client, admin, "Primary")["id"]
    create_schedule(client, admin, "Empty")  # nothing set up: no gap noise
    # Ana since yesterday 10:20; Ben takes over in 20 minutes.
    add_rotation_layer(client, admin, sid, [ana, ben], datetime(2026, 3, 1, 10, 20, tzinfo=UTC))
    gap = {"start": iso(T0 + 24 * H), "end": iso(T0 + 27 * H), "user_ids": []}
    client.post(f"/api/v1/schedules/{sid}/overrides", json=gap, headers=admin.headers)

    for _ in range(3):
        with db.write() as session:
            notices.write_notices(session, clock.now())
        clock.advance(timedelta(minutes=5))
    with db.read() as session:
        events = session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)).all()
        rows = [(e.topic, e.group_id, e.payload) for e in events]
    assert [(topic, group) for topic, group, _ in rows] == [
        ("schedule.shift_starts_soon", None),
        ("schedule.gap_within_48h", None),
    ]
    shift, gap_payload = rows[0][2], rows[1][2]
    assert shift["schedule_id"] == sid and shift["user_ids"] == [ben]
    assert shift["start"] == "2026-03-02T10:20:00+00:00"
    assert gap_payload["start"] == "2026-03-03T10:00:00+00:00" and gap_payload["hours"] == 3.0


def test_oncall_cli(
    client: TestClient, admin: Account, db_url: str, tmp_path: Path, make_user: Callable[..., int]
) -> None:
    ana, ben = make_user("ana@example.com"), make_user("ben@example.com")
    first = create_schedule(client, admin, "Primary")["id"]
    create_schedule(client, admin, "Secondary")
    add_rotation_layer(client, admin, first, [ana, ben], datetime(2026, 3, 2, 9, tzinfo=UTC))
    env = {**os.environ, "WATCHKEEPER_DATABASE_URL": db_url, "WATCHKEEPER_DATA_DIR": str(tmp_path)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "watchkeeper", "oncall", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    everyone = run("--at", "2026-03-03T12:00:00Z")
    assert everyone.returncode == 0, everyone.stderr
    assert everyone.stdout.splitlines() == [
        "Primary: Ben <ben@example.com> until 2026-03-04T09:00:00+00:00",
        "Secondary: NOBODY (gap)",
    ]
    one = run("--schedule", "Primary", "--at", "2026-03-02T10:00")
    assert one.stdout.strip() == "Primary: Ana <ana@example.com> until 2026-03-03T09:00:00+00:00"
    missing = run("--schedule", "Nope")
    assert missing.returncode == 1 and "no schedule named 'Nope'" in missing.stderr
    bad = run("--at", "tomorrow")
    assert bad.returncode == 1 and "ISO 8601" in bad.stderr
