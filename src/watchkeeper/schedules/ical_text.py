"""Text-level pass over an .ics feed, run before icalendar parses it.

icalendar parses roughly 5,000 events a second, while a shared team calendar
holds years of one-off shifts plus descriptions, attendees and alarms. So
``split_feed`` reads the unfolded lines once and:

* checks that BEGIN/END lines balance (``IcalError`` otherwise);
* drops one-off VEVENTs whose DTSTART/DTEND dates lie clearly outside the window;
* reads plain one-off VEVENTs itself (UTC, IANA or Windows TZIDs, dates, floating
  times) into ``PlainEvent`` rows;
* passes everything else (series with RRULE/RDATE/EXDATE/RECURRENCE-ID, DURATION,
  custom time zones, quoted parameters, anything odd) on as text for icalendar and
  recurring-ical-events, keeping only the VEVENT properties the import reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON


class IcalError(ValueError):
    """The uploaded data is not a usable iCalendar feed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class PlainEvent:
    """A one-off event read without icalendar; naive datetimes are floating."""

    uid: str
    start: date | datetime
    end: date | datetime | None
    summary: str
    status: str
    original: date | datetime | None = None  # RECURRENCE-ID of a series occurrence


@dataclass(frozen=True, slots=True)
class FeedParts:
    """``text`` still needs icalendar; ``plain`` events were read already."""

    text: str
    plain: list[PlainEvent]


RECURRENCE_PROPS = frozenset({"RRULE", "RDATE", "EXDATE", "RECURRENCE-ID", "EXRULE"})
_KEPT_PROPS = RECURRENCE_PROPS | {
    "UID",
    "DTSTART",
    "DTEND",
    "DURATION",
    "SUMMARY",
    "STATUS",
    "SEQUENCE",
}
_PLAIN_PROPS = frozenset({"UID", "DTSTART", "DTEND", "SUMMARY", "STATUS", "SEQUENCE"})
_NAME = re.compile(r"[A-Za-z0-9-]+")
_VALUE = re.compile(r"(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z?))?")
_TEXT_ESCAPE = re.compile(r"\\([\\;,nN])")
# Outlook starts its time zone rules in 1601; the time zone icalendar builds from
# them then walks every year since 1601 on each UTC conversion (seconds for a big
# feed). Shifts never predate 1970, so rules are moved to start then.
_IDLE_ONE_OFF = re.compile(r"SEQUENCE[;:]|STATUS[;:](?!\s*CANCELLED)", re.IGNORECASE)
_ONSET = re.compile(r"^(DTSTART[^:]*:)(\d{4})")
# The widest UTC offsets are ±14 h; two days of margin is safely conservative.
_MARGIN = timedelta(days=2)


@lru_cache(maxsize=256)
def _zone(tzid: str) -> ZoneInfo | None:
    for candidate in (tzid, WINDOWS_TO_OLSON.get(tzid)):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return None


def _when(params: list[str], value: str) -> date | datetime | None:
    """A DTSTART/DTEND value, or None when icalendar should judge it."""
    match = _VALUE.fullmatch(value.strip())
    if match is None:
        return None
    tzid = None
    for param in params:
        key, _, arg = param.partition("=")
        if key.upper() == "TZID":
            tzid = arg
        elif key.upper() != "VALUE":
            return None
    year, month, day, hour, minute, second, utc = match.groups()
    if hour is None:
        return date(int(year), int(month), int(day))
    tz = ZoneInfo("UTC") if utc else (_zone(tzid) if tzid else None)
    if tzid and tz is None:
        return None
    try:
        return datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=tz
        )
    except ValueError:
        return None


def _plain(block: list[str]) -> PlainEvent | None:
    props: dict[str, tuple[list[str], str]] = {}
    for line in block[1:-1]:
        head, sep, value = line.partition(":")
        name, *params = head.split(";")
        name = name.upper()
        if not sep or '"' in head or name in props or name not in _PLAIN_PROPS:
            return None
        props[name] = (params, value)
    if "DTSTART" not in props:
        return None
    start = _when(*props["DTSTART"])
    end = _when(*props["DTEND"]) if "DTEND" in props else None
    if start is None or ("DTEND" in props and end is None):
        return None
    summary = _TEXT_ESCAPE.sub(
        lambda m: "\n" if m.group(1) in "nN" else m.group(1), props.get("SUMMARY", ([], ""))[1]
    )
    return PlainEvent(
        uid=props.get("UID", ([], ""))[1].strip(),
        start=start,
        end=end,
        summary=summary,
        status=props.get("STATUS", ([], ""))[1].strip().upper(),
    )


def _dates(block: list[str]) -> tuple[str, str]:
    """First 8 digits of DTSTART and DTEND ("" when absent or odd)."""
    first = last = ""
    for line in block:
        key = line.split(":", 1)[0].split(";", 1)[0].upper()
        if key in ("DTSTART", "DTEND"):
            value = line.rsplit(":", 1)[-1].strip()[:8]
            value = value if len(value) == 8 and value.isdigit() else ""
            first, last = (value, last) if key == "DTSTART" else (first, value)
    return first, last


def _from_1970(match: re.Match[str]) -> str:
    return match.group(1) + max(match.group(2), "1970")


def split_feed(text: str, start: datetime, end: datetime) -> FeedParts:
    """Split a feed into plain one-off events and text for icalendar (see module doc)."""
    lines = re.sub(r"\r?\n[ \t]", "", text).splitlines()
    outside: list[str] = []
    blocks: list[tuple[int, list[str]]] = []  # (position in ``outside``, lines)
    stack: list[str] = []
    block: list[str] | None = None
    for number, line in enumerate(lines, 1):
        match = _NAME.match(line)
        key = match.group(0).upper() if match else ""
        if key == "BEGIN":
            stack.append(line.partition(":")[2].strip().upper())
            if stack[-1] == "VEVENT" and len(stack) == 2:
                block = [line]
                continue
        elif key == "END":
            name = line.partition(":")[2].strip().upper()
            if not stack or stack[-1] != name:
                raise IcalError(f"line {number}: END:{name} does not close an open component")
            stack.pop()
            if block is not None and len(stack) == 1:
                block.append(line)
                blocks.append((len(outside), block))
                block = None
                continue
        if block is None:
            if key == "DTSTART" and len(stack) == 3 and stack[1] == "VTIMEZONE":
                line = _ONSET.sub(_from_1970, line)
            outside.append(line)
        elif len(stack) == 2 and key in _KEPT_PROPS:
            block.append(line)
    if stack:
        raise IcalError(f"component {stack[-1]} is never closed (missing END:{stack[-1]})")

    lo = (start - _MARGIN).strftime("%Y%m%d")
    hi = (end + _MARGIN).strftime("%Y%m%d")
    uids = [_uid(lines_) for _, lines_ in blocks]
    # A UID with any recurrence property anywhere (master or moved instance) is a
    # series, and all its components must go to recurring-ical-events together.
    series = {uid for uid, (_, b) in zip(uids, blocks, strict=True) if _is_series(b)}
    kept: list[tuple[int, list[str]]] = []
    plain: list[PlainEvent] = []
    for uid, (position, b) in zip(uids, blocks, strict=True):
        if uid not in series:
            first, last = _dates(b)
            if first and (first > hi or (last or first) < lo):
                continue
            event = _plain(b)
            if event is not None:
                plain.append(event)
                continue
            # Every property costs icalendar time; a one-off needs no SEQUENCE and
            # only a CANCELLED status.
            b = [line for line in b if not _IDLE_ONE_OFF.match(line)]
        kept.append((position, b))
    out: list[str] = []
    cursor = 0
    for position, b in kept:
        out.extend(outside[cursor:position])
        out.extend(b)
        cursor = position
    out.extend(outside[cursor:])
    return FeedParts(text="\r\n".join(out) + "\r\n", plain=plain)


def _uid(block: list[str]) -> str:
    for line in block:
        if line[:4].upper() == "UID:" or line[:4].upper() == "UID;":
            return line.partition(":")[2].strip()
    return ""


def _is_series(block: list[str]) -> bool:
    return any(line.split(":", 1)[0].split(";", 1)[0].upper() in RECURRENCE_PROPS for line in block)
