"""Times and durations in words a tired person reads at a glance, in their own time zone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def duration(value: timedelta | float | int) -> str:
    """``timedelta(minutes=90)`` → ``"1 h 30 min"``; numbers are seconds."""
    seconds = int(value.total_seconds() if isinstance(value, timedelta) else value)
    if seconds < 60:
        return f"{max(seconds, 0)} s"
    minutes = seconds // 60
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = []
    if days:
        parts.append(f"{days} d")
    if hours:
        parts.append(f"{hours} h")
    if minutes and not days:
        parts.append(f"{minutes} min")
    return " ".join(parts)


@dataclass(frozen=True)
class Formatter:
    """Formats instants for one reader: their time zone, relative to the request's now."""

    time_zone: str
    now: datetime
    tz: ZoneInfo = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tz", zone(self.time_zone))

    def local(self, value: datetime) -> datetime:
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(self.tz)

    def when(self, value: datetime | None) -> str:
        """``Mon 2 Mar 14:05`` (the year only when it is not this year)."""
        if value is None:
            return "—"
        local = self.local(value)
        pattern = (
            "%a %-d %b %H:%M" if local.year == self.local(self.now).year else "%-d %b %Y %H:%M"
        )
        return local.strftime(pattern)

    def iso(self, value: datetime) -> str:
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")

    def ago(self, value: datetime | None) -> str:
        """``5 min ago`` / ``in 2 h``."""
        if value is None:
            return "—"
        delta = self.now - value
        if abs(delta) < timedelta(seconds=45):
            return "just now"
        text = duration(abs(delta))
        return f"{text} ago" if delta > timedelta(0) else f"in {text}"

    def input_value(self, value: datetime) -> str:
        """The value of an ``<input type="datetime-local">`` in the reader's zone."""
        return self.local(value).strftime("%Y-%m-%dT%H:%M")
