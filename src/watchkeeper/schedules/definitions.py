"""Stored schedules → the pure ``ScheduleDefinition``, with an in-process cache.

User keys in definitions are ``str(user id)``. The stack, lowest priority first:
the primary iCal calendar (if any), then the layers by ``position``; on top, the
overrides calendar, then stored overrides in creation order (newest wins).

Imported calendars are expanded over a window of whole UTC years around the
asked range (plus ``_CALENDAR_MARGIN`` each side), because an .ics series can
repeat forever; a single calendar event longer than the margin that crosses a
window edge is cut there.

The cache key is (schedule id, schedule version, users stamp, calendar window).
Every change bumps the version (``service.touch``), so a stale entry is never
read again, in this process or any other. The users stamp (count and highest
id) makes a newly created user's name in a calendar resolve without a change
to the schedule. A write session that changed a schedule bypasses the cache
for it, so uncommitted rows are never cached.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from watchkeeper.identity.models import User
from watchkeeper.schedules.ical_import import IcalError, IcalImport, import_ical
from watchkeeper.schedules.model import (
    AnyLayer,
    CalendarLayer,
    Layer,
    Override,
    Restriction,
    Rotation,
    ScheduleDefinition,
    ShiftLength,
    ShiftUnit,
    overrides_from_shifts,
)
from watchkeeper.schedules.models import (
    Schedule,
    ScheduleCalendar,
    ScheduleOverride,
    ScheduleRotation,
)

log = logging.getLogger("watchkeeper.schedules")

_CACHE_SIZE = 512
_CALENDAR_MARGIN = timedelta(days=40)
_TOUCHED = "watchkeeper.schedules.touched"

_CacheKey = tuple[int, int, tuple[int, int], datetime | None, datetime | None]
_cache: OrderedDict[_CacheKey, ScheduleDefinition] = OrderedDict()
_lock = threading.Lock()


def mark_changed(session: Session, schedule_id: int) -> None:
    """Note that this session changed a schedule; also drop its cached definitions."""
    session.info.setdefault(_TOUCHED, set()).add(schedule_id)
    forget(schedule_id)


def forget(schedule_id: int | None = None) -> None:
    """Drop cached definitions of one schedule, or of all."""
    with _lock:
        for key in [k for k in _cache if schedule_id is None or k[0] == schedule_id]:
            del _cache[key]


def calendar_window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The whole-year window (plus margins) imported calendars are expanded over."""
    lo = datetime(start.astimezone(UTC).year, 1, 1, tzinfo=UTC) - _CALENDAR_MARGIN
    hi = datetime(end.astimezone(UTC).year + 1, 1, 1, tzinfo=UTC) + _CALENDAR_MARGIN
    return lo, hi


def users_stamp(session: Session) -> tuple[int, int]:
    row = session.execute(select(func.count(User.id), func.max(User.id))).one()
    return int(row[0] or 0), int(row[1] or 0)


def user_keys(session: Session) -> dict[str, str]:
    """Lowercased email and username → user key, for matching calendar SUMMARY names."""
    keys: dict[str, str] = {}
    for user_id, email, username in session.execute(select(User.id, User.email, User.username)):
        keys[email.lower()] = str(user_id)
        if username:
            keys.setdefault(username.lower(), str(user_id))
    return keys


def import_calendar(
    session: Session, content: str, *, time_zone: str, start: datetime, end: datetime
) -> IcalImport:
    """Import stored or uploaded calendar text over [start, end); raises ``IcalError``."""
    return import_ical(
        content.encode("utf-8"),
        start=start,
        end=end,
        user_keys=user_keys(session),
        time_zone=time_zone,
    )


def _parse_time(value: str) -> time:
    return time.fromisoformat(value)


def rotation_of(row: ScheduleRotation, *, keep_users: set[int] | None) -> Rotation | None:
    """The pure rotation of a row; None when none of its users exists any more."""
    users = [u for u in row.user_ids if keep_users is None or u in keep_users]
    if not users:
        if keep_users is None:
            raise ValueError("a rotation needs at least one user")
        return None
    return Rotation(
        id=str(row.id),
        users=tuple(str(u) for u in users),
        start=row.start,
        shift_length=ShiftLength(row.shift_count, ShiftUnit(row.shift_unit)),
        handoff_time=_parse_time(row.handoff_time) if row.handoff_time else None,
        restrictions=tuple(
            Restriction(
                frozenset(int(d) for d in r["weekdays"]),
                _parse_time(str(r["start"])),
                _parse_time(str(r["end"])),
            )
            for r in row.restrictions
        ),
        end=row.end,
    )


def _calendar_shifts(
    session: Session, calendar: ScheduleCalendar, time_zone: str, window: tuple[datetime, datetime]
) -> IcalImport | None:
    if not calendar.content:
        return None
    try:
        return import_calendar(
            session, calendar.content, time_zone=time_zone, start=window[0], end=window[1]
        )
    except IcalError:
        # Content is only stored after it imported once; log rather than page nobody.
        log.exception(
            "stored calendar %s of schedule %s no longer imports",
            calendar.kind,
            calendar.schedule_id,
        )
        return None


def build_definition(
    session: Session, schedule: Schedule, window: tuple[datetime, datetime] | None
) -> ScheduleDefinition:
    """Build the definition from the rows, without the cache."""
    existing = set(session.scalars(select(User.id)).all())
    calendars = {c.kind: c for c in schedule.calendars}
    layers: list[AnyLayer] = []
    overrides: list[Override] = []
    primary = calendars.get("primary")
    if primary is not None and window is not None:
        imported = _calendar_shifts(session, primary, schedule.time_zone, window)
        if imported is not None:
            layers.append(CalendarLayer("ical", "iCal calendar", imported.shifts))
    for layer in schedule.layers:
        rotations = [rotation_of(r, keep_users=existing) for r in layer.rotations]
        layers.append(
            Layer(str(layer.id), layer.name, tuple(r for r in rotations if r is not None))
        )
    override_calendar = calendars.get("overrides")
    if override_calendar is not None and window is not None:
        imported = _calendar_shifts(session, override_calendar, schedule.time_zone, window)
        if imported is not None:
            overrides.extend(overrides_from_shifts(imported.shifts, prefix="ical-"))
    rows = session.scalars(
        select(ScheduleOverride)
        .where(ScheduleOverride.schedule_id == schedule.id)
        .order_by(ScheduleOverride.created_at, ScheduleOverride.id)
    ).all()
    for row in rows:
        overrides.append(
            Override(
                str(row.id),
                row.start,
                row.end,
                tuple(str(u) for u in row.user_ids if u in existing),
            )
        )
    return ScheduleDefinition(schedule.time_zone, tuple(layers), tuple(overrides))


def definition_for(
    session: Session, schedule: Schedule, start: datetime, end: datetime
) -> ScheduleDefinition:
    """The definition of ``schedule`` good for answering questions about [start, end)."""
    needs_window = any(c.content for c in schedule.calendars)
    window = calendar_window(start, end) if needs_window else None
    if schedule.id in session.info.get(_TOUCHED, ()):
        return build_definition(session, schedule, window)
    key: _CacheKey = (
        schedule.id,
        schedule.version,
        users_stamp(session),
        *(window if window else (None, None)),
    )
    with _lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            return cached
    definition = build_definition(session, schedule, window)
    with _lock:
        _cache[key] = definition
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return definition


def member_ids(schedule: Schedule) -> set[int]:
    """Users named by the schedule's rotations (counted in balance even with no hours)."""
    return {u for layer in schedule.layers for r in layer.rotations for u in r.user_ids}


def unknown_names_json(imported: IcalImport) -> list[dict[str, Any]]:
    return [
        {"name": u.name, "count": u.count, "examples": list(u.examples)}
        for u in imported.unknown_names
    ]
