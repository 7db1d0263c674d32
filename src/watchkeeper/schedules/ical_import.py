"""Import on-call shifts from an iCalendar feed (Google Calendar, Outlook, …).

``import_ical(data, *, start, end, user_keys, time_zone="UTC") -> IcalImport``
    Parses ``.ics`` bytes and expands every event occurring in [start, end) into
    ``ExplicitShift`` rows (clipped to the window, sorted by start), ready to be
    used as a ``CalendarLayer`` or, via ``model.overrides_from_shifts``, as
    overrides. Recurrence is handled by recurring-ical-events: RRULE, RDATE,
    EXDATE, moved instances (RECURRENCE-ID, also RANGE=THISANDFUTURE), all-day
    events and TZIDs, including Outlook's Windows zone names. All-day and floating
    times are read in ``time_zone`` (the schedule's zone). Cancelled events
    (STATUS:CANCELLED) are skipped; "free" (transparent) ones are not, because
    Google marks all-day events free by default.

    Each occurrence's ``id`` is ``"<UID>#<original start>#<start>"``: stable across
    re-imports and unique even for THISANDFUTURE series, and used to drop duplicate
    copies of the same occurrence.

    SUMMARY names the people on call: usernames or emails separated by commas or
    semicolons (``"alice@example.com, Bob"``, ``"Carol <carol@example.com>"``),
    optionally after an "On call:" label (as in Watchkeeper's own feeds).
    Names are matched case-insensitively through ``user_keys`` (lowercased name or
    email → user key). Names that match nobody are not dropped silently: they are
    counted in ``IcalImport.unknown_names`` with a few example occurrences; an event
    naming nobody known yields no shift.

Malformed input (not UTF-8, no VCALENDAR, unbalanced BEGIN/END, unparsable
properties) raises ``IcalError`` with a message fit to show to the uploader.
Plain one-off events are read by ``ical_text`` without icalendar, for speed;
see there.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

from watchkeeper.schedules.ical_text import RECURRENCE_PROPS, IcalError, PlainEvent, split_feed
from watchkeeper.schedules.model import ExplicitShift

__all__ = ["IcalError", "IcalImport", "UnknownName", "import_ical"]

_MAX_EXAMPLES = 3
_NAME_SPLIT = re.compile(r"[,;]")
# Our own feeds (and many hand-made ones) say "On call: alice, bob".
_ON_CALL_LABEL = re.compile(r"^\s*on[ -]?call\s*:\s*", re.IGNORECASE)
_ANGLE_EMAIL = re.compile(r"<([^<>@\s]+@[^<>\s]+)>")


@dataclass(frozen=True, slots=True)
class UnknownName:
    """A name in event summaries that maps to no user."""

    name: str
    count: int
    examples: tuple[str, ...]  # e.g. "2025-03-04T09:00:00+00:00 'alice, mallory'"


@dataclass(frozen=True, slots=True)
class IcalImport:
    """Result of importing a feed over a window."""

    shifts: tuple[ExplicitShift, ...]
    unknown_names: tuple[UnknownName, ...]
    events_without_users: int


def _as_utc(value: date | datetime, zone: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=zone)
        return aware.astimezone(UTC)
    # All-day events start at local midnight in the schedule's zone.
    return datetime(value.year, value.month, value.day, tzinfo=zone).astimezone(UTC)


def _default_end(start: date | datetime) -> date | datetime:
    # RFC 5545: without DTEND/DURATION a date event lasts a day, a date-time one is an instant.
    return start if isinstance(start, datetime) else start + timedelta(days=1)


def _names(summary: str) -> list[str]:
    names = []
    for part in _NAME_SPLIT.split(_ON_CALL_LABEL.sub("", summary)):
        angle = _ANGLE_EMAIL.search(part)
        name = (angle.group(1) if angle else part).strip().strip('"').strip()
        if name.lower().startswith("mailto:"):
            name = name[7:]
        if name:
            names.append(name)
    return names


def _parsed_events(text: str, start: datetime, end: datetime) -> Iterator[PlainEvent]:
    """Events icalendar must read; series are expanded by recurring-ical-events."""
    try:
        calendar = icalendar.Calendar.from_ical(text)
        events = [c for c in calendar.subcomponents if c.name == "VEVENT"]
        series = {str(c.get("UID", "")) for c in events if any(p in c for p in RECURRENCE_PROPS)}
        one_offs = [c for c in events if str(c.get("UID", "")) not in series]
        occurrences: list[Any] = one_offs
        if series:
            # recurring-ical-events copies every occurrence it returns, so only
            # series go through it.
            skip = {id(c) for c in one_offs}
            calendar.subcomponents = [c for c in calendar.subcomponents if id(c) not in skip]
            occurrences = one_offs + list(recurring_ical_events.of(calendar).between(start, end))
        for component in occurrences:
            first = component["DTSTART"].dt
            if "DTEND" in component:
                last = component["DTEND"].dt
            elif "DURATION" in component:
                last = first + component["DURATION"].dt
            else:
                last = _default_end(first)
            original = component.get("RECURRENCE-ID")
            yield PlainEvent(
                uid=str(component.get("UID", "")),
                start=first,
                end=last,
                summary=str(component.get("SUMMARY", "")),
                status=str(component.get("STATUS", "")).upper(),
                original=first if original is None else original.dt,
            )
    except IcalError:
        raise
    except Exception as exc:  # icalendar and dateutil raise many types for bad input
        raise IcalError(f"could not read the calendar: {exc}") from exc


def import_ical(
    data: bytes,
    *,
    start: datetime,
    end: datetime,
    user_keys: Mapping[str, str],
    time_zone: str = "UTC",
) -> IcalImport:
    """Parse ``data`` and return the shifts of its events within [start, end)."""
    if start.tzinfo is None or end.tzinfo is None or end <= start:
        raise ValueError("start and end must be aware datetimes with start < end")
    zone = ZoneInfo(time_zone)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IcalError(f"the calendar is not UTF-8 text (byte {exc.start})") from exc
    if not re.match(r"\s*BEGIN:VCALENDAR", text, re.IGNORECASE):
        raise IcalError("not an iCalendar file: it must start with BEGIN:VCALENDAR")
    parts = split_feed(text, start, end)
    events = [*parts.plain, *_parsed_events(parts.text, start, end)]

    lookup = {key.lower(): value for key, value in user_keys.items()}
    unknown: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    seen: set[str] = set()
    shifts: list[ExplicitShift] = []
    without_users = 0
    for event in events:
        if event.status == "CANCELLED":
            continue
        s = _as_utc(event.start, zone)
        e = _as_utc(_default_end(event.start) if event.end is None else event.end, zone)
        occurrence_id = f"{event.uid}#{(event.original or event.start).isoformat()}#{s.isoformat()}"
        s, e = max(s, start), min(e, end)
        if s >= e or occurrence_id in seen:
            continue
        seen.add(occurrence_id)
        users: list[str] = []
        for name in _names(event.summary):
            key = lookup.get(name.lower())
            if key is None:
                unknown[name] += 1
                if len(examples.setdefault(name, [])) < _MAX_EXAMPLES:
                    examples[name].append(f"{s.isoformat()} {event.summary!r}")
            elif key not in users:
                users.append(key)
        if not users:
            without_users += 1
            continue
        shifts.append(ExplicitShift(start=s, end=e, users=tuple(users), id=occurrence_id))

    shifts.sort(key=lambda shift: (shift.start, shift.end, shift.id))
    return IcalImport(
        shifts=tuple(shifts),
        unknown_names=tuple(
            UnknownName(name, count, tuple(examples[name])) for name, count in unknown.most_common()
        ),
        events_without_users=without_users,
    )
