"""Render final shifts as iCalendar feeds that calendar apps can subscribe to.

``schedule_feed(schedule, *, dtstamp, display_names=None, include_gaps=False) -> bytes``
    One event per final shift of one schedule; SUMMARY lists the people on call
    (``display_names`` maps user key → name shown, default the key). Gaps are left
    out unless ``include_gaps``, then they read "No one on call".

``user_feed(schedules, *, user_key, dtstamp, calendar_name) -> bytes``
    "My shifts": one event per continuous stretch in which ``user_key`` is on call
    in each schedule (neighbouring final shifts with different co-workers are joined).

``ScheduleShifts(schedule_id, schedule_name, shifts)`` bundles a schedule's
final shifts (from ``resolve.final_shifts``) with what the feed shows.

UIDs are stable: a hash of the schedule id, the shift's UTC start and its source
(schedule feed) or user (user feed), so re-fetching the feed updates events in
place instead of duplicating them. Times are written in UTC; ``dtstamp`` is the
injected clock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import icalendar

from watchkeeper.schedules.resolve import FinalShift

_PRODID = "-//Watchkeeper//On-call schedules//EN"
_UID_DOMAIN = "watchkeeper"
_REFRESH = timedelta(hours=1)  # keep in step with X-PUBLISHED-TTL below


@dataclass(frozen=True, slots=True)
class ScheduleShifts:
    """Final shifts of one schedule, with the names a feed shows."""

    schedule_id: str
    schedule_name: str
    shifts: tuple[FinalShift, ...]


def _uid(*parts: str) -> str:
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]
    return f"{digest}@{_UID_DOMAIN}"


def _calendar(name: str) -> icalendar.Calendar:
    cal = icalendar.Calendar()
    cal.add("prodid", _PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    # Subscribed calendars poll; an hour keeps swaps visible without hammering us.
    cal.add("x-published-ttl", "PT1H")
    cal.add("refresh-interval", _REFRESH, parameters={"VALUE": "DURATION"})
    return cal


def _event(
    uid: str, start: datetime, end: datetime, summary: str, description: str, dtstamp: datetime
) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", dtstamp.astimezone(UTC))
    event.add("dtstart", start.astimezone(UTC))
    event.add("dtend", end.astimezone(UTC))
    event.add("summary", summary)
    event.add("description", description)
    event.add("transp", "OPAQUE")
    return event


def _describe_source(source: str) -> str:
    kind, _, ident = source.partition(":")
    if kind == "override":
        return f"Override {ident}"
    if kind == "layer":
        return f"Layer {ident}"
    return "Not covered"


def schedule_feed(
    schedule: ScheduleShifts,
    *,
    dtstamp: datetime,
    display_names: Mapping[str, str] | None = None,
    include_gaps: bool = False,
) -> bytes:
    """The schedule's final shifts as an iCalendar feed."""
    names = display_names or {}
    cal = _calendar(schedule.schedule_name)
    for shift in schedule.shifts:
        if shift.is_gap and not include_gaps:
            continue
        people = ", ".join(names.get(user, user) for user in shift.users)
        summary = f"On call: {people}" if people else "No one on call"
        uid = _uid(schedule.schedule_id, shift.start.astimezone(UTC).isoformat(), shift.source)
        description = f"{schedule.schedule_name}: {_describe_source(shift.source)}"
        cal.add_component(_event(uid, shift.start, shift.end, summary, description, dtstamp))
    return bytes(cal.to_ical())


def _stretches(shifts: Iterable[FinalShift], user_key: str) -> list[tuple[datetime, datetime]]:
    stretches: list[tuple[datetime, datetime]] = []
    for shift in shifts:
        if user_key not in shift.users:
            continue
        if stretches and stretches[-1][1] == shift.start:
            stretches[-1] = (stretches[-1][0], shift.end)
        else:
            stretches.append((shift.start, shift.end))
    return stretches


def user_feed(
    schedules: Sequence[ScheduleShifts],
    *,
    user_key: str,
    dtstamp: datetime,
    calendar_name: str,
) -> bytes:
    """One person's on-call stretches across ``schedules`` as an iCalendar feed."""
    cal = _calendar(calendar_name)
    for schedule in schedules:
        for start, end in _stretches(schedule.shifts, user_key):
            uid = _uid(schedule.schedule_id, user_key, start.astimezone(UTC).isoformat())
            summary = f"On call: {schedule.schedule_name}"
            cal.add_component(_event(uid, start, end, summary, schedule.schedule_name, dtstamp))
    return bytes(cal.to_ical())
