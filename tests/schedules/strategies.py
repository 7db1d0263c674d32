"""Hypothesis strategies and small helpers shared by the schedule tests."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from hypothesis import strategies as st

from watchkeeper.schedules.model import (
    AnyLayer,
    CalendarLayer,
    ExplicitShift,
    Layer,
    Override,
    Restriction,
    Rotation,
    ScheduleDefinition,
    ShiftLength,
    ShiftUnit,
)
from watchkeeper.schedules.resolve import FinalShift

BASE = datetime(2025, 3, 1, tzinfo=UTC)  # a month with DST changes in the north
ZONES = ["UTC", "Europe/Berlin", "America/Los_Angeles", "Australia/Lord_Howe"]
USERS = ["ana", "ben", "chen", "dara", "eli", "fay"]

# Quarter-hour granularity keeps examples readable; resolve itself is exact.
offsets = st.integers(min_value=-10 * 96, max_value=40 * 96).map(
    lambda q: timedelta(minutes=15 * q)
)
durations = st.integers(min_value=1, max_value=10 * 96).map(lambda q: timedelta(minutes=15 * q))
local_times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
user_tuples = st.lists(st.sampled_from(USERS), min_size=1, max_size=4).map(tuple)

restrictions = st.builds(
    Restriction,
    weekdays=st.frozensets(st.integers(0, 6), min_size=1),
    start=local_times,
    end=local_times,
)


@st.composite
def rotations(draw: st.DrawFn, rid: str) -> Rotation:
    start = BASE + draw(offsets)
    unit = draw(st.sampled_from(list(ShiftUnit)))
    count = draw(st.integers(1, 36 if unit is ShiftUnit.HOURS else 3))
    end = draw(st.none() | durations.map(lambda d: start + d * 4))
    return Rotation(
        id=rid,
        users=draw(user_tuples),
        start=start,
        shift_length=ShiftLength(count, unit),
        handoff_time=draw(st.none() | local_times),
        restrictions=tuple(draw(st.lists(restrictions, max_size=2))),
        end=end,
    )


@st.composite
def explicit_shifts(draw: st.DrawFn) -> ExplicitShift:
    start = BASE + draw(offsets)
    return ExplicitShift(start, start + draw(durations), draw(user_tuples))


@st.composite
def layers(draw: st.DrawFn, lid: str) -> AnyLayer:
    if draw(st.booleans()):
        rots = [draw(rotations(f"{lid}r{n}")) for n in range(draw(st.integers(1, 2)))]
        return Layer(id=lid, name=lid, rotations=tuple(rots))
    return CalendarLayer(
        id=lid, name=lid, shifts=tuple(draw(st.lists(explicit_shifts(), max_size=5)))
    )


@st.composite
def overrides(draw: st.DrawFn, oid: str) -> Override:
    start = BASE + draw(offsets)
    users = draw(st.just(()) | user_tuples)
    return Override(oid, start, start + draw(durations), users)


@st.composite
def definitions(draw: st.DrawFn) -> ScheduleDefinition:
    n_layers = draw(st.integers(0, 3))
    n_overrides = draw(st.integers(0, 4))
    return ScheduleDefinition(
        time_zone=draw(st.sampled_from(ZONES)),
        layers=tuple(draw(layers(f"L{n}")) for n in range(n_layers)),
        overrides=tuple(draw(overrides(f"O{n}")) for n in range(n_overrides)),
    )


@st.composite
def ranges(draw: st.DrawFn) -> tuple[datetime, datetime]:
    start = BASE + draw(offsets)
    return start, start + draw(durations) * 3


def shift_at(shifts: list[FinalShift], at: datetime) -> FinalShift:
    """The final shift containing ``at`` (linear scan: an oracle, not a shortcut)."""
    matches = [s for s in shifts if s.start <= at < s.end]
    assert len(matches) == 1, f"{len(matches)} shifts contain {at}"
    return matches[0]


def probe_instants(shifts: list[FinalShift]) -> list[datetime]:
    """Starts and midpoints of every shift: instants where a rule could break."""
    return [t for s in shifts for t in (s.start, s.start + (s.end - s.start) / 2)]
