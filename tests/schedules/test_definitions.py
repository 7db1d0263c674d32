"""Stored schedules → definitions: the cache and its invalidation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from watchkeeper.clock import FixedClock
from watchkeeper.db.engine import Database
from watchkeeper.identity.principal import SYSTEM
from watchkeeper.schedules import definitions, reports
from watchkeeper.schedules import service as svc
from watchkeeper.schedules.schemas import LayerCreate, OverrideCreate, RotationIn, ScheduleCreate

H = timedelta(hours=1)


def test_cache_hits_until_the_schedule_changes(
    db: Database, clock: FixedClock, make_user: Callable[..., int]
) -> None:
    now = clock.now()
    ana, ben = make_user("ana@example.com"), make_user("ben@example.com")
    with db.write() as session:
        sid = svc.create_schedule(
            session, actor=SYSTEM, data=ScheduleCreate(name="Primary"), now=now
        ).id
        svc.add_layer(
            session,
            actor=SYSTEM,
            schedule_id=sid,
            data=LayerCreate(rotations=[RotationIn(user_ids=[ana], start=now - H)]),
            now=now,
        )

    def definition() -> object:
        with db.read() as session:
            schedule = svc.get_schedule(session, schedule_id=sid)
            return definitions.definition_for(session, schedule, now, now + H)

    first = definition()
    assert definition() is first
    with db.read() as session:
        assert reports.who_is_on_call(session, schedule_id=sid, at=now) == (ana,)

    # A change that rolls back leaves nothing behind in the cache.
    override = OverrideCreate(start=now, end=now + H, user_ids=[ben])
    try:
        with db.write() as session:
            svc.add_override(session, actor=SYSTEM, schedule_id=sid, data=override, now=now)
            assert reports.who_is_on_call(session, schedule_id=sid, at=now) == (ben,)
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    with db.read() as session:
        assert reports.who_is_on_call(session, schedule_id=sid, at=now) == (ana,)

    with db.write() as session:
        svc.add_override(session, actor=SYSTEM, schedule_id=sid, data=override, now=now)
    changed = definition()
    assert changed is not first
    with db.read() as session:
        assert reports.who_is_on_call(session, schedule_id=sid, at=now) == (ben,)
