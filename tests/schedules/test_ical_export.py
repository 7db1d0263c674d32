"""iCal export: feeds calendar apps accept, with stable UIDs, that read back the same."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import icalendar

from watchkeeper.schedules.ical_export import ScheduleShifts, schedule_feed, user_feed
from watchkeeper.schedules.ical_import import import_ical
from watchkeeper.schedules.model import (
    Layer,
    Override,
    Rotation,
    ScheduleDefinition,
    ShiftLength,
    ShiftUnit,
)
from watchkeeper.schedules.resolve import final_shifts

START = datetime(2025, 6, 2, 9, tzinfo=UTC)
END = START + timedelta(days=4)
DEFINITION = ScheduleDefinition(
    "UTC",
    (
        Layer(
            "l",
            "primary",
            (Rotation("r", ("ana", "ben"), START, ShiftLength(1, ShiftUnit.DAYS), time(9)),),
        ),
    ),
    (
        Override("gap", START + timedelta(hours=30), START + timedelta(hours=32), ()),
        Override("pair", START + timedelta(hours=50), START + timedelta(hours=52), ("ana", "ben")),
    ),
)
SHIFTS = ScheduleShifts("sched-1", "Payments", tuple(final_shifts(DEFINITION, START, END)))


def events(feed: bytes) -> list[icalendar.Event]:
    return [
        e
        for e in icalendar.Calendar.from_ical(feed).walk("VEVENT")
        if isinstance(e, icalendar.Event)
    ]


def test_schedule_feed_lists_shifts_and_skips_gaps() -> None:
    feed = schedule_feed(SHIFTS, dtstamp=START, display_names={"ana": "Ana Lima"})
    found = events(feed)
    non_gaps = [s for s in SHIFTS.shifts if not s.is_gap]
    assert len(found) == len(non_gaps)
    assert str(found[0]["SUMMARY"]) == "On call: Ana Lima"
    assert found[0].start == START
    assert "X-WR-CALNAME:Payments" in feed.decode()
    with_gaps = events(schedule_feed(SHIFTS, dtstamp=START, include_gaps=True))
    assert "No one on call" in [str(e["SUMMARY"]) for e in with_gaps]


def test_uids_are_stable_and_unique() -> None:
    first = [str(e["UID"]) for e in events(schedule_feed(SHIFTS, dtstamp=START))]
    later = [str(e["UID"]) for e in events(schedule_feed(SHIFTS, dtstamp=END))]
    assert first == later
    assert len(set(first)) == len(first)
    other = ScheduleShifts("sched-2", "Payments", SHIFTS.shifts)
    assert set(first).isdisjoint(str(e["UID"]) for e in events(schedule_feed(other, dtstamp=START)))


def test_feed_reads_back_as_the_same_shifts() -> None:
    feed = schedule_feed(SHIFTS, dtstamp=START)
    back = import_ical(feed, start=START, end=END, user_keys={"ana": "ana", "ben": "ben"})
    expected = [(s.start, s.end, s.users) for s in SHIFTS.shifts if not s.is_gap]
    assert [(s.start, s.end, s.users) for s in back.shifts] == expected


def test_user_feed_joins_neighbouring_shifts_of_one_person() -> None:
    feed = user_feed([SHIFTS], user_key="ana", dtstamp=START, calendar_name="Ana's shifts")
    spans = [(e.start, e.end) for e in events(feed)]
    # Ana: day 1 whole (09:00–09:00), then day 3 cut by the "pair" override she is in,
    # which must not split her stretch in two.
    assert spans == [
        (START, START + timedelta(days=1)),
        (START + timedelta(days=2), START + timedelta(days=3)),
    ]
    assert all(str(e["SUMMARY"]) == "On call: Payments" for e in events(feed))
