"""Outbox events for upcoming shifts and gaps, each written once.

A periodic task looks ``GAP_WITHIN`` ahead of every schedule and writes

* ``schedule.shift_starts_soon`` when someone's shift starts within
  ``SHIFT_SOON`` (once per schedule, start and people), and
* ``schedule.gap_within_48h`` for each stretch with nobody on call that is
  running or starts within 48 hours (once per schedule and gap start).

Sent keys live in ``schedule_notices`` (sha256 of the key) and are pruned after
``KEEP``. A gap already running longer than ``LOOKBACK`` has no visible start,
so it is keyed as "before"; such a schedule is reported once, not every minute.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from watchkeeper.alerts import store
from watchkeeper.schedules import reports
from watchkeeper.schedules import service as svc
from watchkeeper.schedules.models import ScheduleNotice

SHIFT_SOON = timedelta(minutes=30)
GAP_WITHIN = timedelta(hours=48)
LOOKBACK = timedelta(days=7)
KEEP = timedelta(days=30)
SHIFT_TOPIC = "schedule.shift_starts_soon"
GAP_TOPIC = "schedule.gap_within_48h"


def _key(*parts: object) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()


def _candidates(session: Session, now: datetime) -> list[tuple[str, str, dict[str, Any]]]:
    """(key, topic, payload) of every notice due now, sent or not."""
    out: list[tuple[str, str, dict[str, Any]]] = []
    window_start = now - LOOKBACK
    for schedule in svc.list_schedules(session):
        if not schedule.layers and not schedule.calendars:
            continue  # nothing set up yet: a gap here is not news
        shifts = reports.shifts(
            session, schedule=schedule, start=window_start, end=now + GAP_WITHIN
        )
        base = {"schedule_id": schedule.id, "schedule_name": schedule.name}
        previous_users: tuple[str, ...] = ()
        for shift in shifts:
            users = shift.users
            changed, previous_users = users != previous_users, users
            if shift.end <= now:
                continue
            span = {"start": shift.start.isoformat(), "end": shift.end.isoformat()}
            if shift.is_gap:
                start_key = shift.start.isoformat() if shift.start > window_start else "before"
                hours = round((shift.end - shift.start).total_seconds() / 3600, 2)
                out.append(
                    (
                        _key(GAP_TOPIC, schedule.id, start_key),
                        GAP_TOPIC,
                        {**base, **span, "hours": hours},
                    )
                )
            elif now < shift.start <= now + SHIFT_SOON and changed:
                out.append(
                    (
                        _key(SHIFT_TOPIC, schedule.id, shift.start.isoformat(), ",".join(users)),
                        SHIFT_TOPIC,
                        {**base, **span, "user_ids": [int(u) for u in users]},
                    )
                )
    return out


def write_notices(session: Session, now: datetime) -> int:
    """Periodic task: write due notices to the outbox; returns how many were new."""
    session.execute(delete(ScheduleNotice).where(ScheduleNotice.created_at < now - KEEP))
    candidates = _candidates(session, now)
    if not candidates:
        return 0
    keys = [key for key, _, _ in candidates]
    sent = set(session.scalars(select(ScheduleNotice.key).where(ScheduleNotice.key.in_(keys))))
    fresh = {key: (topic, payload) for key, topic, payload in candidates if key not in sent}
    if not fresh:
        return 0
    session.execute(
        insert(ScheduleNotice),
        [{"key": key, "topic": topic, "created_at": now} for key, (topic, _) in fresh.items()],
    )
    store.outbox(session, now, [(topic, None, payload) for topic, payload in fresh.values()])
    return len(fresh)
