"""Schedule definitions: the plain, immutable input of the schedule resolver.

A schedule is a stack of layers plus overrides, interpreted in one IANA time zone:

``ScheduleDefinition(time_zone, layers, overrides)``
    ``layers`` are ordered lowest → highest priority; where two layers cover the
    same instant the later one wins. ``overrides`` win over every layer; where two
    overrides overlap the later one in the tuple wins (the shell passes them in
    creation order, so the newest override wins, as in Grafana OnCall).

``Layer(id, name, rotations)``
    Where several rotations of one layer cover the same instant, the people on call
    are the union of their users (rotation order, then user order).

``CalendarLayer(id, name, shifts)``
    A layer made of ``ExplicitShift`` rows, e.g. imported from an iCal feed
    (see ``ical_import``). Overlapping shifts inside it are unioned like rotations.

``Rotation(id, users, start, shift_length, handoff_time, restrictions, end)``
    ``users`` take turns in order, one per shift. ``shift_length`` is a count of
    hours, days or weeks:

    * hours: shifts are absolute durations from ``start`` (a 12-hour shift is 12 real
      hours, also on a DST night). ``handoff_time`` is ignored.
    * days / weeks: shifts hand off at ``handoff_time`` local time in the schedule
      time zone (default: the local time of ``start``), counted in calendar days from
      the local date of ``start``. A daily shift over a DST change therefore lasts 23
      or 25 hours. The first shift is the one containing ``start``; nothing is on call
      before ``start`` or from ``end`` on.

    ``restrictions`` (optional) limit when the rotation is on call: the union of
    their windows, intersected with each shift.

``Restriction(weekdays, start, end)``
    A window that opens on each listed local weekday (0 = Monday … 6 = Sunday) at
    ``start`` and closes at ``end`` local time; if ``end <= start`` it closes on the
    following day, so ``Restriction({0,1,2,3,4}, time(22), time(7))`` is the five
    nights starting Monday to Friday evening, and ``start == end`` means 24 hours.

``Override(id, start, end, users)``
    Replaces whoever is on call in [start, end). Empty ``users`` means "nobody": the
    time is reported as a gap.

Repeated users in an ``ExplicitShift`` or ``Override`` are dropped (first one kept);
in a ``Rotation`` they are meaningful (``("a", "b", "a", "c")`` gives ``a`` every
other shift).

All datetimes must be timezone-aware; validation errors raise ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")


def _require_range(what: str, start: datetime, end: datetime) -> None:
    _require_aware(f"{what} start", start)
    _require_aware(f"{what} end", end)
    if end <= start:
        raise ValueError(f"{what} must end after it starts ({start} → {end})")


class ShiftUnit(StrEnum):
    """Unit of a rotation's shift length."""

    HOURS = "hours"
    DAYS = "days"
    WEEKS = "weeks"


@dataclass(frozen=True, slots=True)
class ShiftLength:
    """Length of one shift, e.g. ``ShiftLength(12, ShiftUnit.HOURS)``."""

    count: int
    unit: ShiftUnit

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"shift length must be at least 1, got {self.count}")


@dataclass(frozen=True, slots=True)
class Restriction:
    """A weekly local time-of-day window during which a rotation is on call."""

    weekdays: frozenset[int]
    start: time
    end: time

    def __post_init__(self) -> None:
        if not self.weekdays or not all(0 <= d <= 6 for d in self.weekdays):
            raise ValueError(f"weekdays must be a non-empty subset of 0..6: {self.weekdays}")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("restriction times are local wall-clock times without tzinfo")


@dataclass(frozen=True, slots=True)
class Rotation:
    """Users taking turns in shifts of a fixed length."""

    id: str
    users: tuple[str, ...]
    start: datetime
    shift_length: ShiftLength
    handoff_time: time | None = None
    restrictions: tuple[Restriction, ...] = ()
    end: datetime | None = None

    def __post_init__(self) -> None:
        if not self.users:
            raise ValueError(f"rotation {self.id!r} has no users")
        _require_aware("rotation start", self.start)
        if self.end is not None:
            _require_range(f"rotation {self.id!r}", self.start, self.end)
        if self.handoff_time is not None and self.handoff_time.tzinfo is not None:
            raise ValueError("handoff_time is a local wall-clock time without tzinfo")


@dataclass(frozen=True, slots=True)
class ExplicitShift:
    """A shift with fixed bounds, e.g. one occurrence of an iCal event."""

    start: datetime
    end: datetime
    users: tuple[str, ...]
    id: str = ""

    def __post_init__(self) -> None:
        _require_range("shift", self.start, self.end)
        object.__setattr__(self, "users", tuple(dict.fromkeys(self.users)))


@dataclass(frozen=True, slots=True)
class Layer:
    """A layer of rotations."""

    id: str
    name: str
    rotations: tuple[Rotation, ...]


@dataclass(frozen=True, slots=True)
class CalendarLayer:
    """A layer of explicit shifts (an imported calendar)."""

    id: str
    name: str
    shifts: tuple[ExplicitShift, ...]


AnyLayer = Layer | CalendarLayer


@dataclass(frozen=True, slots=True)
class Override:
    """Replaces the layers' users in [start, end)."""

    id: str
    start: datetime
    end: datetime
    users: tuple[str, ...]

    def __post_init__(self) -> None:
        _require_range(f"override {self.id!r}", self.start, self.end)
        object.__setattr__(self, "users", tuple(dict.fromkeys(self.users)))


@dataclass(frozen=True)
class ScheduleDefinition:
    """Everything needed to compute who is on call; hashable so results can be cached."""

    time_zone: str
    layers: tuple[AnyLayer, ...] = ()
    overrides: tuple[Override, ...] = ()
    # Hashing walks every rotation and override; the on-call cache hashes the
    # definition on every lookup, so the hash is computed once.
    _hash: int = field(init=False, repr=False, compare=False, default=0)

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.time_zone!r}") from exc
        object.__setattr__(self, "_hash", hash((self.time_zone, self.layers, self.overrides)))

    def __hash__(self) -> int:
        return self._hash

    @property
    def zone(self) -> ZoneInfo:
        """The schedule's time zone (zoneinfo caches instances)."""
        return ZoneInfo(self.time_zone)


def overrides_from_shifts(shifts: Iterable[ExplicitShift], *, prefix: str) -> tuple[Override, ...]:
    """Turn calendar shifts (e.g. an imported overrides calendar) into overrides."""
    return tuple(
        Override(
            id=f"{prefix}{shift.id or index}", start=shift.start, end=shift.end, users=shift.users
        )
        for index, shift in enumerate(shifts)
    )
