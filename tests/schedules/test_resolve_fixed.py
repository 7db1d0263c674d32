"""Fixed-clock tests: handoffs, DST nights, restrictions and precedence."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from watchkeeper.schedules.model import (
    Layer,
    Override,
    Restriction,
    Rotation,
    ScheduleDefinition,
    ShiftLength,
    ShiftUnit,
)
from watchkeeper.schedules.resolve import final_shifts, on_call_at

BERLIN = ZoneInfo("Europe/Berlin")
LA = ZoneInfo("America/Los_Angeles")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
SYDNEY = ZoneInfo("Australia/Sydney")
HOUR = timedelta(hours=1)


def single(zone: str, rotation: Rotation, *overrides: Override) -> ScheduleDefinition:
    return ScheduleDefinition(zone, (Layer("l", "primary", (rotation,)),), overrides)


def daily(start: datetime, handoff: time, users: tuple[str, ...] = ("a", "b", "c")) -> Rotation:
    return Rotation("r", users, start, ShiftLength(1, ShiftUnit.DAYS), handoff)


@pytest.mark.parametrize(
    ("zone", "tz", "day_before_change", "hours"),
    [
        ("Europe/Berlin", BERLIN, datetime(2025, 3, 29), 23),  # spring forward
        ("Europe/Berlin", BERLIN, datetime(2025, 10, 25), 25),  # fall back
        ("America/Los_Angeles", LA, datetime(2025, 3, 8), 23),
        ("America/Los_Angeles", LA, datetime(2025, 11, 1), 25),
        ("Australia/Lord_Howe", LORD_HOWE, datetime(2025, 4, 5), 24.5),  # 30-minute DST
        ("Australia/Lord_Howe", LORD_HOWE, datetime(2025, 10, 4), 23.5),
    ],
)
def test_daily_handoff_stays_at_local_time_across_dst(
    zone: str, tz: ZoneInfo, day_before_change: datetime, hours: float
) -> None:
    first = day_before_change.replace(tzinfo=tz) - timedelta(days=3)
    definition = single(zone, daily(first.replace(hour=9), time(9)))
    shifts = final_shifts(
        definition, first.replace(hour=9), first.replace(hour=9) + timedelta(days=6)
    )
    assert all(s.start.astimezone(tz).time() == time(9) for s in shifts)
    lengths = [(s.end - s.start) / HOUR for s in shifts]
    assert lengths == [24, 24, 24, hours, 24, 24]
    assert [s.users for s in shifts] == [("a",), ("b",), ("c",), ("a",), ("b",), ("c",)]


def test_hour_shifts_are_absolute_durations_over_dst() -> None:
    start = datetime(2025, 3, 29, 8, tzinfo=BERLIN)
    rotation = Rotation("sun", ("eu", "us"), start, ShiftLength(12, ShiftUnit.HOURS))
    # Aware datetime + timedelta is wall-clock arithmetic, so add real hours in UTC.
    shifts = final_shifts(
        single("Europe/Berlin", rotation), start, start.astimezone(UTC) + 48 * HOUR
    )
    assert all(s.end - s.start == 12 * HOUR for s in shifts)
    # Real 12-hour shifts drift by the lost hour on the local clock.
    assert [s.start.astimezone(BERLIN).hour for s in shifts] == [8, 20, 9, 21]
    assert [s.users for s in shifts] == [("eu",), ("us",), ("eu",), ("us",)]


def test_weekly_rotation_loses_an_hour_in_la_spring() -> None:
    start = datetime(2025, 3, 3, 10, tzinfo=LA)  # a Monday
    rotation = Rotation("w", ("a", "b"), start, ShiftLength(1, ShiftUnit.WEEKS), time(10))
    shifts = final_shifts(
        single("America/Los_Angeles", rotation), start, start + timedelta(days=14)
    )
    assert [(s.end - s.start) / HOUR for s in shifts] == [167, 168]
    assert shifts[1].start == datetime(2025, 3, 10, 10, tzinfo=LA)


def test_handoff_at_a_wall_time_that_does_not_exist() -> None:
    start = datetime(2025, 3, 7, 2, 30, tzinfo=LA)
    shifts = final_shifts(
        single("America/Los_Angeles", daily(start, time(2, 30))), start, start + timedelta(days=4)
    )
    # 02:30 does not exist on 9 March; the handoff happens at 03:30 PDT instead
    # (fold=0: the pre-transition offset), and is back to 02:30 the day after.
    assert [s.start.astimezone(LA).strftime("%d %H:%M") for s in shifts] == [
        "07 02:30",
        "08 02:30",
        "09 03:30",
        "10 02:30",
    ]


def test_members_in_other_zones_hand_off_at_schedule_local_time() -> None:
    # A Berlin and a Sydney engineer in a schedule kept in Los Angeles time.
    start = datetime(2025, 3, 3, 9, tzinfo=LA)
    definition = single("America/Los_Angeles", daily(start, time(9), ("berlin", "sydney")))
    shifts = final_shifts(definition, start, start + timedelta(days=40))
    berlin_clock = {s.start.astimezone(LA).date(): s.start.astimezone(BERLIN).hour for s in shifts}
    # LA changes clocks on 9 Mar, Berlin on 30 Mar: for three weeks the gap is 8 h.
    assert berlin_clock[datetime(2025, 3, 5).date()] == 18
    assert berlin_clock[datetime(2025, 3, 20).date()] == 17
    assert berlin_clock[datetime(2025, 4, 1).date()] == 18
    sydney_clock = {s.start.astimezone(LA).date(): s.start.astimezone(SYDNEY).hour for s in shifts}
    assert sydney_clock[datetime(2025, 3, 5).date()] == 4  # 09:00 PST = 04:00 AEDT next day
    assert sydney_clock[datetime(2025, 4, 7).date()] == 2  # Sydney left DST on 6 April
    assert on_call_at(definition, datetime(2025, 3, 4, 8, tzinfo=LA)) == ("berlin",)
    assert on_call_at(definition, datetime(2025, 3, 4, 9, tzinfo=LA)) == ("sydney",)


def test_first_shift_belongs_to_first_user_even_before_the_handoff() -> None:
    start = datetime(2025, 6, 2, 7, tzinfo=BERLIN)
    shifts = final_shifts(single("Europe/Berlin", daily(start, time(9))), start, start + 26 * HOUR)
    assert [(s.start.astimezone(BERLIN).hour, s.users) for s in shifts] == [
        (7, ("a",)),
        (9, ("b",)),
    ]
    assert shifts[0].end - shifts[0].start == 2 * HOUR


def test_nothing_before_start_or_after_end_of_rotation() -> None:
    start = datetime(2025, 6, 2, 9, tzinfo=BERLIN)
    rotation = Rotation(
        "r", ("a",), start, ShiftLength(1, ShiftUnit.DAYS), time(9), end=start + timedelta(days=1)
    )
    shifts = final_shifts(single("Europe/Berlin", rotation), start - HOUR, start + 25 * HOUR)
    assert [(s.is_gap, s.end - s.start) for s in shifts] == [
        (True, HOUR),
        (False, 24 * HOUR),
        (True, HOUR),
    ]


def test_night_restriction_crosses_midnight_and_only_weeknights() -> None:
    friday_dawn = datetime(2025, 6, 6, 5, tzinfo=BERLIN)
    nights = Restriction(frozenset({0, 1, 2, 3, 4}), time(22), time(7))  # Mon-Fri evenings
    rotation = Rotation(
        "n",
        ("owl",),
        friday_dawn - timedelta(days=7),
        ShiftLength(1, ShiftUnit.WEEKS),
        restrictions=(nights,),
    )
    shifts = final_shifts(
        single("Europe/Berlin", rotation), friday_dawn, friday_dawn + timedelta(days=4)
    )
    covered = [
        (s.start.astimezone(BERLIN), s.end.astimezone(BERLIN)) for s in shifts if not s.is_gap
    ]
    assert covered == [
        # Thursday's night, already running when the range starts.
        (friday_dawn, datetime(2025, 6, 6, 7, tzinfo=BERLIN)),
        (datetime(2025, 6, 6, 22, tzinfo=BERLIN), datetime(2025, 6, 7, 7, tzinfo=BERLIN)),
        # No Saturday or Sunday night; Monday's night starts Monday evening.
        (datetime(2025, 6, 9, 22, tzinfo=BERLIN), datetime(2025, 6, 10, 5, tzinfo=BERLIN)),
    ]


def test_business_hours_layer_over_a_24h_layer_with_override() -> None:
    monday = datetime(2025, 6, 2, tzinfo=BERLIN)
    base = daily(monday.replace(hour=9), time(9), ("night1", "night2"))
    business = Rotation(
        "biz",
        ("desk",),
        monday,
        ShiftLength(1, ShiftUnit.WEEKS),
        restrictions=(Restriction(frozenset(range(5)), time(9), time(17)),),
    )
    lunch = Override("swap", monday.replace(hour=12), monday.replace(hour=13), ("stand-in",))
    definition = ScheduleDefinition(
        "Europe/Berlin",
        (Layer("base", "24/7", (base,)), Layer("biz", "office", (business,))),
        (lunch,),
    )
    shifts = final_shifts(
        definition, monday.replace(hour=9), monday.replace(hour=9) + timedelta(days=1)
    )
    summary = [(s.start.astimezone(BERLIN).hour, s.users, s.source) for s in shifts]
    assert summary == [
        (9, ("desk",), "layer:biz"),
        (12, ("stand-in",), "override:swap"),
        (13, ("desk",), "layer:biz"),
        (17, ("night1",), "layer:base"),
    ]


def test_rotations_of_one_layer_overlapping_are_unioned() -> None:
    start = datetime(2025, 6, 2, 9, tzinfo=UTC)
    primary = Rotation("p", ("ana", "ben"), start, ShiftLength(1, ShiftUnit.DAYS), time(9))
    shadow = Rotation("s", ("trainee",), start + 2 * HOUR, ShiftLength(4, ShiftUnit.HOURS))
    shadow = Rotation(
        shadow.id, shadow.users, shadow.start, shadow.shift_length, end=start + 6 * HOUR
    )
    definition = ScheduleDefinition("UTC", (Layer("l", "l", (primary, shadow)),))
    shifts = final_shifts(definition, start, start + 8 * HOUR)
    assert [(s.start.hour, s.users) for s in shifts] == [
        (9, ("ana",)),
        (11, ("ana", "trainee")),
        (15, ("ana",)),
    ]


def test_override_naming_nobody_is_a_gap_with_its_source() -> None:
    start = datetime(2025, 6, 2, 9, tzinfo=UTC)
    blank = Override("maint", start + HOUR, start + 2 * HOUR, ())
    shifts = final_shifts(single("UTC", daily(start, time(9)), blank), start, start + 3 * HOUR)
    assert [(s.users, s.source, s.is_gap) for s in shifts] == [
        (("a",), "layer:l", False),
        ((), "override:maint", True),
        (("a",), "layer:l", False),
    ]


def test_invalid_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match="time zone"):
        ScheduleDefinition("Mars/Olympus_Mons")
    with pytest.raises(ValueError, match="aware"):
        daily(datetime(2025, 1, 1), time(9))
    with pytest.raises(ValueError, match="end"):
        final_shifts(
            ScheduleDefinition("UTC"),
            datetime(2025, 1, 2, tzinfo=UTC),
            datetime(2025, 1, 1, tzinfo=UTC),
        )
