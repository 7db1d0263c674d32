"""Schedule health report: gaps, balance, off-hours in each member's zone, SPOFs."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.schedules.strategies import BASE, explicit_shifts
from watchkeeper.schedules.model import (
    CalendarLayer,
    ExplicitShift,
    Layer,
    Override,
    Rotation,
    ScheduleDefinition,
    ShiftLength,
    ShiftUnit,
)
from watchkeeper.schedules.quality import Severity, quality_report
from watchkeeper.schedules.resolve import final_shifts

BERLIN = ZoneInfo("Europe/Berlin")
HOUR = timedelta(hours=1)
TEAM = ("ana", "ben", "chen", "dara")
ZONES = dict.fromkeys(TEAM, "Europe/Berlin")


def team_schedule(*overrides: Override) -> ScheduleDefinition:
    rotation = Rotation(
        "r", TEAM, datetime(2025, 6, 2, 9, tzinfo=BERLIN), ShiftLength(1, ShiftUnit.DAYS), time(9)
    )
    return ScheduleDefinition("Europe/Berlin", (Layer("l", "primary", (rotation,)),), overrides)


def shift(start: datetime, hours: float, *users: str) -> ExplicitShift:
    return ExplicitShift(start, start + hours * HOUR, users)


def test_finds_the_planted_gap_next_tuesday() -> None:
    now = datetime(2025, 6, 5, 10, tzinfo=BERLIN)  # a Thursday
    tuesday = datetime(2025, 6, 10, 13, tzinfo=BERLIN)
    hole = Override("hole", tuesday, tuesday + 3 * HOUR, ())
    shifts = final_shifts(team_schedule(hole), now, now + timedelta(days=14))
    report = quality_report(
        shifts, now=now, days=14, member_time_zones=ZONES, time_zone="Europe/Berlin"
    )
    assert [(g.start, g.end, g.urgent) for g in report.gaps] == [
        (tuesday, tuesday + 3 * HOUR, False)
    ]
    assert report.coverage == pytest.approx(1 - 3 / (14 * 24))
    gap_findings = [f for f in report.findings if f.code == "gap"]
    assert len(gap_findings) == 1
    assert gap_findings[0].severity is Severity.WARNING
    assert "Tue 2025-06-10 13:00 CEST" in gap_findings[0].message
    assert "(3.0 h)" in gap_findings[0].message


def test_gap_within_48_hours_is_urgent_and_caps_the_score() -> None:
    now = datetime(2025, 6, 5, 10, tzinfo=BERLIN)
    hole = Override("hole", now + 20 * HOUR, now + 21 * HOUR, ())
    shifts = final_shifts(team_schedule(hole), now, now + timedelta(days=28))
    report = quality_report(shifts, now=now, days=28, member_time_zones=ZONES)
    assert [g.urgent for g in report.gaps] == [True]
    assert [f.severity for f in report.findings if f.code == "gap"] == [Severity.URGENT]
    assert report.score == 50
    without = quality_report(
        final_shifts(team_schedule(), now, now + timedelta(days=28)),
        now=now,
        days=28,
        member_time_zones=ZONES,
    )
    assert without.score > 90


def test_names_the_member_with_twice_the_average_load() -> None:
    now = datetime(2025, 6, 2, tzinfo=UTC)
    shifts = [
        shift(now, 12, "ana"),
        shift(now + 12 * HOUR, 4, "ben"),
        shift(now + 16 * HOUR, 4, "chen"),
        shift(now + 20 * HOUR, 4, "dara"),
    ]
    report = quality_report(shifts, now=now, days=1, member_time_zones=ZONES)
    overloaded = [f.message for f in report.findings if f.code == "overloaded"]
    assert overloaded == ["ana is on call 12 h, +100% over average (6 h)."]
    ana = next(m for m in report.members if m.user == "ana")
    assert ana.vs_average == pytest.approx(1.0)
    # Pairs: ana/x three times 4/12, x/y three times 1 → (3 × 1/3 + 3) / 6.
    assert report.balance == pytest.approx(4 / 6)


def test_night_and_weekend_hours_are_counted_in_each_members_own_zone() -> None:
    now = datetime(2025, 6, 2, tzinfo=UTC)  # a Monday
    shifts = [
        shift(now + 20 * HOUR, 12, "tokyo", "nyc"),  # Mon 20:00 – Tue 08:00 UTC
        shift(datetime(2025, 6, 7, 10, tzinfo=UTC), 4, "tokyo", "nyc"),  # Saturday
    ]
    zones = {"tokyo": "Asia/Tokyo", "nyc": "America/New_York"}
    report = quality_report(shifts, now=now, days=7, member_time_zones=zones)
    loads = {m.user: m for m in report.members}
    # Tokyo: 05:00–17:00 Tue → 2 night hours; Saturday 19:00–23:00 → 1 more.
    assert loads["tokyo"].night_hours == pytest.approx(3)
    assert loads["tokyo"].weekend_hours == pytest.approx(4)
    assert loads["tokyo"].off_hours == pytest.approx(2 + 4)
    # New York: Mon 16:00 – Tue 04:00 → 22:00–04:00 = 6 h; Saturday 06:00–10:00 → 1 h.
    assert loads["nyc"].night_hours == pytest.approx(7)
    assert loads["nyc"].weekend_hours == pytest.approx(4)
    assert loads["nyc"].off_hours == pytest.approx(6 + 4)
    assert loads["nyc"].longest_stretch_hours == pytest.approx(12)


def test_longest_stretch_joins_back_to_back_shifts() -> None:
    now = datetime(2025, 6, 2, tzinfo=UTC)
    shifts = [
        shift(now, 10, "ana"),
        shift(now + 10 * HOUR, 30, "ana", "ben"),
        shift(now + 40 * HOUR, 8, "ben"),
    ]
    report = quality_report(shifts, now=now, days=2, member_time_zones=ZONES)
    loads = {m.user: m.longest_stretch_hours for m in report.members}
    assert loads == {"ana": pytest.approx(40), "ben": pytest.approx(38)}


def test_double_booking_across_schedules() -> None:
    now = datetime(2025, 6, 2, tzinfo=UTC)
    here = [shift(now, 24, "ana"), shift(now + 24 * HOUR, 24, "ben")]
    payments = [shift(now + 20 * HOUR, 10, "ben", "eve")]
    report = quality_report(
        here, now=now, days=2, member_time_zones=ZONES, other_schedules={"Payments": payments}
    )
    assert [(b.user, b.other_schedule, b.start, b.end) for b in report.double_bookings] == [
        ("ben", "Payments", now + 24 * HOUR, now + 30 * HOUR)
    ]
    assert any(f.code == "double_booked" and "Payments" in f.message for f in report.findings)
    assert report.resilience == pytest.approx(1 - 6 / 48)


def test_one_person_schedule_is_a_single_point_of_failure() -> None:
    now = datetime(2025, 6, 2, tzinfo=UTC)
    report = quality_report([shift(now, 48, "ana")], now=now, days=2, member_time_zones=ZONES)
    assert [f.code for f in report.findings] == ["single_person"]
    assert report.resilience == 0
    assert report.score == 80  # 0.5 × 1 + 0.3 × 1 + 0.2 × 0


def test_even_fully_covered_schedule_scores_100_and_zero_hour_members_count() -> None:
    now = datetime(2025, 6, 2, tzinfo=UTC)
    shifts = [shift(now, 24, "ana"), shift(now + 24 * HOUR, 24, "ben")]
    report = quality_report(shifts, now=now, days=2, member_time_zones=ZONES)
    assert (report.score, report.findings) == (100, ())
    idle = quality_report(shifts, now=now, days=2, member_time_zones=ZONES, members=["chen"])
    assert idle.balance < 1
    assert next(m for m in idle.members if m.user == "chen").hours == 0


def test_member_without_time_zone_is_reported() -> None:
    now = datetime(2025, 6, 2, tzinfo=UTC)
    report = quality_report(
        [shift(now, 24, "ana"), shift(now + 24 * HOUR, 24, "zed")],
        now=now,
        days=2,
        member_time_zones=ZONES,
    )
    assert [f.code for f in report.findings] == ["unknown_time_zone"]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.lists(explicit_shifts(), max_size=6), min_size=1, max_size=4),
    st.integers(1, 30),
)
def test_coverage_never_double_counts_overlapping_layers(
    layers: list[list[ExplicitShift]], days: int
) -> None:
    everything = [s for layer in layers for s in layer]
    report = quality_report(everything, now=BASE, days=days, member_time_zones={})
    assert 0 <= report.coverage <= 1
    # Independent oracle: the resolver's covered (non-gap) time for the same shifts.
    stacked = ScheduleDefinition(
        "UTC", tuple(CalendarLayer(f"l{n}", "", tuple(layer)) for n, layer in enumerate(layers))
    )
    resolved = final_shifts(stacked, BASE, BASE + timedelta(days=days))
    covered = sum((s.end - s.start for s in resolved if not s.is_gap), timedelta())
    assert report.coverage == pytest.approx(covered / timedelta(days=days))
    gap_time = sum((g.end - g.start for g in report.gaps), timedelta())
    assert gap_time + covered == timedelta(days=days)
