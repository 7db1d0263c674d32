"""Schedule health report: is the schedule covered, fair and resilient?

``quality_report(shifts, *, now, days, member_time_zones, other_schedules={},
members=(), time_zone="UTC") -> QualityReport``

Inputs: the shifts of [now, now + days) (``FinalShift``/``ExplicitShift`` or
anything with ``start``, ``end``, ``users``; overlapping shifts are fine, shifts
are clipped to the window), each member's IANA time zone, optionally other
schedules' shifts keyed by schedule name, extra ``members`` who should be counted
even with zero hours, and the schedule's own zone (used for messages and for
members without a zone). ``now`` is the injected clock.

What it measures:

* Coverage: the union of time in which at least one person is on call, as a
  fraction of the window. Overlaps are never counted twice, so it is at most 1.
  Every uncovered stretch is a ``Gap``; gaps starting within 48 hours are urgent.
* Balance: each member's on-call hours against the mean. Like Grafana OnCall,
  the balance score is the mean over all pairs of members of
  ``min(hours_a, hours_b) / max(hours_a, hours_b)`` (1 = perfectly even). Members
  more than 25% above the mean are named ("+X% over average").
* Off-hours load, per member, in the member's own time zone: night hours
  (22:00–07:00), weekend hours (Saturday and Sunday) and their union.
* Longest continuous stretch on call per member.
* Single points of failure: a schedule with only one person, and people on call
  in this and another schedule at the same time (double bookings).

Score (0–100) = round(100 × (0.5 × coverage + 0.3 × balance + 0.2 × resilience)),
where resilience is 0 for a schedule with at most one person and otherwise
1 − (double-booked hours ÷ covered hours), floored at 0. An uncovered gap in the
next 48 hours caps the score at 50: someone will not be paged soon, whatever the
averages say. With no one on call at all, balance is 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from itertools import combinations
from typing import Protocol
from zoneinfo import ZoneInfo

URGENT_WITHIN = timedelta(hours=48)
OVERLOAD_THRESHOLD = 0.25  # fraction above the mean that counts as overloaded
NIGHT_START, NIGHT_END = time(22), time(7)
URGENT_GAP_SCORE_CAP = 50

_Span = tuple[datetime, datetime]


class ShiftLike(Protocol):
    """Anything with a start, an end and the users on call."""

    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime: ...
    @property
    def users(self) -> tuple[str, ...]: ...


class Severity(StrEnum):
    """How soon a finding needs attention."""

    URGENT = "urgent"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Finding:
    """One plain-language observation; ``code`` is stable for the UI and tests."""

    severity: Severity
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Gap:
    """Time in the window when nobody is on call."""

    start: datetime
    end: datetime
    urgent: bool


@dataclass(frozen=True, slots=True)
class MemberLoad:
    """One member's load over the window (hours)."""

    user: str
    time_zone: str
    hours: float
    vs_average: float  # hours / mean hours − 1, e.g. 1.0 means +100%
    night_hours: float
    weekend_hours: float
    off_hours: float  # nights ∪ weekends, not double counted
    longest_stretch_hours: float


@dataclass(frozen=True, slots=True)
class DoubleBooking:
    """A person on call here and in ``other_schedule`` at the same time."""

    user: str
    other_schedule: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class QualityReport:
    """The health report; see the module docstring for how ``score`` is computed."""

    start: datetime
    end: datetime
    score: int
    coverage: float
    balance: float
    resilience: float
    gaps: tuple[Gap, ...]
    members: tuple[MemberLoad, ...]
    double_bookings: tuple[DoubleBooking, ...]
    findings: tuple[Finding, ...]


def _merge(spans: Iterable[_Span]) -> list[_Span]:
    """Sorted union of spans; touching spans are joined."""
    merged: list[_Span] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            if e > merged[-1][1]:
                merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged


def _intersect(a: Sequence[_Span], b: Sequence[_Span]) -> list[_Span]:
    """Intersection of two sorted, disjoint span lists."""
    out: list[_Span] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo < hi:
            out.append((lo, hi))
        if a[i][1] <= b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _hours(spans: Iterable[_Span]) -> float:
    return sum((e - s).total_seconds() for s, e in spans) / 3600


def _local_windows(
    zone: ZoneInfo, start: datetime, end: datetime
) -> tuple[list[_Span], list[_Span]]:
    """Night and weekend windows (local wall time in ``zone``) covering [start, end)."""
    nights: list[_Span] = []
    weekends: list[_Span] = []
    day: date = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date()
    while day <= last:
        nxt = day + timedelta(days=1)
        nights.append(
            (
                datetime.combine(day, NIGHT_START, tzinfo=zone).astimezone(UTC),
                datetime.combine(nxt, NIGHT_END, tzinfo=zone).astimezone(UTC),
            )
        )
        if day.weekday() >= 5:
            weekends.append(
                (
                    datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC),
                    datetime.combine(nxt, time(0), tzinfo=zone).astimezone(UTC),
                )
            )
        day = nxt
    return _merge(nights), _merge(weekends)


def _when(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%a %Y-%m-%d %H:%M %Z")


def _member_load(user: str, spans: list[_Span], tz_name: str, mean: float) -> MemberLoad:
    zone = ZoneInfo(tz_name)
    hours = _hours(spans)
    nights, weekends = _local_windows(zone, spans[0][0], spans[-1][1]) if spans else ([], [])
    return MemberLoad(
        user=user,
        time_zone=tz_name,
        hours=hours,
        vs_average=hours / mean - 1 if mean else 0.0,
        night_hours=_hours(_intersect(spans, nights)),
        weekend_hours=_hours(_intersect(spans, weekends)),
        off_hours=_hours(_intersect(spans, _merge(nights + weekends))),
        longest_stretch_hours=max(((e - s).total_seconds() / 3600 for s, e in spans), default=0),
    )


def _user_spans(
    shifts: Iterable[ShiftLike], start: datetime, end: datetime
) -> dict[str, list[_Span]]:
    raw: dict[str, list[_Span]] = {}
    for shift in shifts:
        s, e = max(shift.start.astimezone(UTC), start), min(shift.end.astimezone(UTC), end)
        if s < e:
            for user in shift.users:
                raw.setdefault(user, []).append((s, e))
    return {user: _merge(spans) for user, spans in raw.items()}


def quality_report(
    shifts: Iterable[ShiftLike],
    *,
    now: datetime,
    days: int,
    member_time_zones: Mapping[str, str],
    other_schedules: Mapping[str, Iterable[ShiftLike]] | None = None,
    members: Iterable[str] = (),
    time_zone: str = "UTC",
) -> QualityReport:
    """Score and explain the health of a schedule over [now, now + days)."""
    if now.tzinfo is None or days < 1:
        raise ValueError("now must be timezone-aware and days at least 1")
    zone = ZoneInfo(time_zone)
    start = now.astimezone(UTC)
    end = start + timedelta(days=days)
    findings: list[Finding] = []

    by_user = _user_spans(shifts, start, end)
    for member in members:
        by_user.setdefault(member, [])
    covered = _merge(span for spans in by_user.values() for span in spans)
    window_hours = _hours([(start, end)])
    coverage = min(1.0, _hours(covered) / window_hours)

    gaps: list[Gap] = []
    cursor = start
    for s, e in [*covered, (end, end)]:
        if s > cursor:
            gaps.append(Gap(cursor, s, urgent=cursor < start + URGENT_WITHIN))
        cursor = max(cursor, e)
    for gap in gaps:
        length = _hours([(gap.start, gap.end)])
        findings.append(
            Finding(
                Severity.URGENT if gap.urgent else Severity.WARNING,
                "gap",
                f"No one is on call from {_when(gap.start, zone)} to "
                f"{_when(gap.end, zone)} ({length:.1f} h).",
            )
        )

    mean = sum(_hours(spans) for spans in by_user.values()) / len(by_user) if by_user else 0.0
    loads = sorted(
        (
            _member_load(user, spans, member_time_zones.get(user, time_zone), mean)
            for user, spans in by_user.items()
        ),
        key=lambda load: (-load.hours, load.user),
    )
    for user in sorted(set(by_user) - set(member_time_zones)):
        findings.append(
            Finding(
                Severity.INFO,
                "unknown_time_zone",
                f"{user} has no time zone; their nights are counted in {time_zone}.",
            )
        )
    for load in loads:
        if load.vs_average > OVERLOAD_THRESHOLD:
            findings.append(
                Finding(
                    Severity.WARNING,
                    "overloaded",
                    f"{load.user} is on call {load.hours:.0f} h, "
                    f"+{load.vs_average * 100:.0f}% over average ({mean:.0f} h).",
                )
            )
    pairs = list(combinations([load.hours for load in loads], 2))
    if not loads or mean == 0:
        balance = 0.0
    elif not pairs:
        balance = 1.0
    else:
        balance = sum(min(a, b) / max(a, b) if max(a, b) else 1.0 for a, b in pairs) / len(pairs)

    bookings = _double_bookings(by_user, other_schedules or {}, start, end)
    for booking in bookings:
        findings.append(
            Finding(
                Severity.WARNING,
                "double_booked",
                f"{booking.user} is also on call in {booking.other_schedule} from "
                f"{_when(booking.start, zone)} to {_when(booking.end, zone)}.",
            )
        )
    people = [load.user for load in loads if load.hours > 0]
    if len(people) == 1:
        findings.append(
            Finding(
                Severity.WARNING,
                "single_person",
                f"Only {people[0]} is ever on call: nobody else can take over.",
            )
        )
    covered_hours = _hours(covered)
    if len(people) <= 1 or covered_hours == 0:
        resilience = 0.0
    else:
        resilience = max(0.0, 1 - _hours((b.start, b.end) for b in bookings) / covered_hours)

    score = round(100 * (0.5 * coverage + 0.3 * balance + 0.2 * resilience))
    if any(gap.urgent for gap in gaps):
        score = min(score, URGENT_GAP_SCORE_CAP)
    return QualityReport(
        start=start,
        end=end,
        score=score,
        coverage=coverage,
        balance=balance,
        resilience=resilience,
        gaps=tuple(gaps),
        members=tuple(loads),
        double_bookings=tuple(bookings),
        findings=tuple(findings),
    )


def _double_bookings(
    by_user: Mapping[str, list[_Span]],
    other_schedules: Mapping[str, Iterable[ShiftLike]],
    start: datetime,
    end: datetime,
) -> list[DoubleBooking]:
    bookings: list[DoubleBooking] = []
    for name, other in sorted(other_schedules.items()):
        other_by_user = _user_spans(other, start, end)
        for user in sorted(set(by_user) & set(other_by_user)):
            for s, e in _intersect(by_user[user], other_by_user[user]):
                bookings.append(DoubleBooking(user, name, s, e))
    return bookings
