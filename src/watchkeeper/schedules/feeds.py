"""iCal export: a schedule's feed and each person's "my shifts" feed, behind secret URLs.

Calendar apps cannot send bearer tokens, so each feed URL carries an
unguessable token instead (a schedule's ``ical_token``; a user's
``UserFeedToken``). Regenerating a token revokes the old URL. Feeds cover
``FEED_PAST`` back and ``FEED_FUTURE`` ahead of now.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper.errors import NotFound
from watchkeeper.identity import audit
from watchkeeper.identity.models import User
from watchkeeper.identity.principal import Principal
from watchkeeper.schedules import reports
from watchkeeper.schedules import service as svc
from watchkeeper.schedules.ical_export import ScheduleShifts, schedule_feed, user_feed
from watchkeeper.schedules.models import Schedule, UserFeedToken

FEED_PAST = timedelta(days=30)
FEED_FUTURE = timedelta(days=180)


def schedule_feed_url(base_url: str, schedule: Schedule) -> str:
    return f"{base_url}/ical/schedules/{schedule.ical_token}.ics"


def user_feed_url(base_url: str, token: str) -> str:
    return f"{base_url}/ical/users/{token}.ics"


def _shifts(session: Session, schedule: Schedule, now: datetime) -> ScheduleShifts:
    shifts = reports.shifts(
        session, schedule=schedule, start=now - FEED_PAST, end=now + FEED_FUTURE
    )
    return ScheduleShifts(str(schedule.id), schedule.name, tuple(shifts))


def schedule_ics(session: Session, *, token: str, now: datetime) -> bytes:
    """The feed of the schedule whose export token is ``token``."""
    found = session.scalar(select(Schedule.id).where(Schedule.ical_token == token))
    if found is None:
        raise NotFound("no calendar feed at this address; it may have been regenerated")
    schedule = svc.get_schedule(session, schedule_id=found)
    shifts = _shifts(session, schedule, now)
    people = reports.users_by_id(session, {int(k) for s in shifts.shifts for k in s.users})
    names = {str(uid): user.name for uid, user in people.items()}
    return schedule_feed(shifts, dtstamp=now, display_names=names)


def get_user_token(session: Session, *, user_id: int) -> str | None:
    row = session.get(UserFeedToken, user_id)
    return row.token if row else None


def regenerate_user_token(
    session: Session, *, actor: Principal, user_id: int, now: datetime
) -> str:
    """Create (or replace, revoking the old URL) a user's "my shifts" feed token."""
    token = svc.new_feed_token()
    row = session.get(UserFeedToken, user_id)
    if row is None:
        session.add(UserFeedToken(user_id=user_id, token=token, created_at=now))
    else:
        row.token, row.created_at = token, now
    audit.record(
        session,
        actor=actor,
        action="schedule.user_feed_regenerate",
        object_type="user",
        object_id=user_id,
        at=now,
    )
    return token


def user_ics(session: Session, *, token: str, now: datetime) -> bytes:
    """The "my shifts" feed of the user whose feed token is ``token``."""
    row = session.scalar(select(UserFeedToken).where(UserFeedToken.token == token))
    user = session.get(User, row.user_id) if row else None
    if user is None or not user.is_active:
        raise NotFound("no calendar feed at this address; it may have been regenerated")
    key = str(user.id)
    mine = [
        shifts
        for shifts in (_shifts(session, s, now) for s in svc.list_schedules(session))
        if any(key in shift.users for shift in shifts.shifts)
    ]
    return user_feed(mine, user_key=key, dtstamp=now, calendar_name=f"On call: {user.name}")
