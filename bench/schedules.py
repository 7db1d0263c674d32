"""Schedule speed figures: run ``.venv/bin/python bench/schedules.py``.

Prints, next to its target:
1. the final schedule for 365 days (5 layers, 25 users, daily handoffs, 200 overrides);
2. "who is on call now" for 1,000 schedules, warm cache;
3. a 10,000-event .ics feed parsed and expanded for 90 days: events spanning years
   (the usual shared calendar), all 10,000 inside the 90 days, and all inside with
   a custom VTIMEZONE so that icalendar parses every event (the slow path).
"""

from __future__ import annotations

import random
import statistics
import time as clock
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from watchkeeper.schedules.ical_import import import_ical
from watchkeeper.schedules.model import (
    Layer,
    Override,
    Restriction,
    Rotation,
    ScheduleDefinition,
    ShiftLength,
    ShiftUnit,
)
from watchkeeper.schedules.resolve import clear_cache, final_shifts, on_call_at

ZONE = ZoneInfo("Europe/Berlin")
START = datetime(2025, 1, 1, tzinfo=ZONE)
USERS = [f"user{i}" for i in range(25)]


def definition(seed: int) -> ScheduleDefinition:
    """5 layers of 5 users each with daily 09:00 handoffs, plus 200 random overrides."""
    rng = random.Random(seed)
    windows = [
        (),
        (Restriction(frozenset(range(5)), time(9), time(17)),),
        (Restriction(frozenset(range(5)), time(17), time(9)),),
        (Restriction(frozenset({5, 6}), time(0), time(0)),),
        (Restriction(frozenset(range(7)), time(22), time(6)),),
    ]
    layers = tuple(
        Layer(
            id=f"l{n}",
            name=f"layer {n}",
            rotations=(
                Rotation(
                    id=f"r{n}",
                    users=tuple(USERS[n * 5 : n * 5 + 5]),
                    start=START - timedelta(days=rng.randrange(30)),
                    shift_length=ShiftLength(1, ShiftUnit.DAYS),
                    handoff_time=time(9),
                    restrictions=windows[n],
                ),
            ),
        )
        for n in range(5)
    )
    overrides = []
    for n in range(200):
        begin = START + timedelta(minutes=rng.randrange(365 * 24 * 60))
        overrides.append(
            Override(
                f"o{n}", begin, begin + timedelta(hours=rng.randint(1, 48)), (rng.choice(USERS),)
            )
        )
    return ScheduleDefinition("Europe/Berlin", layers, tuple(overrides))


def best_of(runs: int, work: Callable[[], object]) -> float:
    """Median wall time in milliseconds."""
    times = []
    for _ in range(runs):
        began = clock.perf_counter()
        work()
        times.append((clock.perf_counter() - began) * 1000)
    return statistics.median(times)


CUSTOM_ZONE = [
    "BEGIN:VTIMEZONE",
    "TZID:Team Berlin",
    "BEGIN:STANDARD",
    "DTSTART:16010101T030000",
    "TZOFFSETFROM:+0200",
    "TZOFFSETTO:+0100",
    "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10",
    "END:STANDARD",
    "BEGIN:DAYLIGHT",
    "DTSTART:16010101T020000",
    "TZOFFSETFROM:+0100",
    "TZOFFSETTO:+0200",
    "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3",
    "END:DAYLIGHT",
    "END:VTIMEZONE",
]


def ics_feed(events: int, spacing: timedelta, tzid: str = "Europe/Berlin") -> bytes:
    """A Google-Calendar-style feed of one-off shifts plus a few weekly series.

    A TZID other than Europe/Berlin gets a custom VTIMEZONE, which sends every
    event through icalendar instead of the text fast path (see ical_text).
    """
    lines = [
        "BEGIN:VCALENDAR",
        "PRODID:-//Google Inc//Google Calendar 70.9054//EN",
        "VERSION:2.0",
        "X-WR-TIMEZONE:Europe/Berlin",
    ]
    if tzid != "Europe/Berlin":
        lines += CUSTOM_ZONE
    first = datetime(2023, 1, 1, 9) if spacing > timedelta(hours=1) else datetime(2025, 3, 1)
    for n in range(events):
        begin = first + n * spacing
        stamp = f"{begin:%Y%m%dT%H%M%S}"
        lines += [
            "BEGIN:VEVENT",
            f"DTSTART;TZID={tzid}:{stamp}",
            f"DTEND;TZID={tzid}:{begin + timedelta(hours=8):%Y%m%dT%H%M%S}",
            "DTSTAMP:20250101T000000Z",
            f"UID:shift-{n}@google.com",
            "DESCRIPTION:Primary on-call. Runbook: https://wiki.example.com/oncall",
            "LAST-MODIFIED:20250101T000000Z",
            "SEQUENCE:0",
            "STATUS:CONFIRMED",
            f"SUMMARY:{USERS[n % 25]}@example.com",
            "TRANSP:OPAQUE",
        ]
        if n % 500 == 0:
            lines.append("RRULE:FREQ=WEEKLY;COUNT=200")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


def main() -> None:
    big = definition(1)
    ms = best_of(5, lambda: final_shifts(big, START, START + timedelta(days=365)))
    print(f"final schedule, 365 days, 5 layers, 200 overrides: {ms:8.1f} ms   (target ≤ 50 ms)")

    schedules = [definition(seed) for seed in range(1000)]
    now = datetime(2025, 6, 3, 14, 30, tzinfo=UTC)
    clear_cache()
    for schedule in schedules:
        on_call_at(schedule, now)  # warm
    ms = best_of(5, lambda: [on_call_at(schedule, now) for schedule in schedules])
    print(f"on call now, 1,000 schedules (warm):               {ms:8.1f} ms   (target ≤ 100 ms)")

    keys = {f"{user}@example.com": user for user in USERS}
    window = (datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 5, 30, tzinfo=UTC))
    for label, feed in (
        ("events over 3 years", ics_feed(10_000, timedelta(hours=3))),
        ("all in window", ics_feed(10_000, timedelta(minutes=12))),
        ("all in window, custom tz", ics_feed(10_000, timedelta(minutes=12), "Team Berlin")),
    ):
        ms = best_of(
            3,
            partial(
                import_ical,
                feed,
                start=window[0],
                end=window[1],
                user_keys=keys,
                time_zone="Europe/Berlin",
            ),
        )
        print(f"iCal 10,000 events, 90 days, {label:25}{ms:5.0f} ms   (target ≤ 2000 ms)")


if __name__ == "__main__":
    main()
