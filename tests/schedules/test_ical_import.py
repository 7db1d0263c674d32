"""iCal import against feeds in the shape Google Calendar and Outlook export."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from watchkeeper.schedules import ical_text
from watchkeeper.schedules.ical_import import IcalError, IcalImport, import_ical
from watchkeeper.schedules.model import CalendarLayer, ScheduleDefinition, overrides_from_shifts
from watchkeeper.schedules.resolve import on_call_at

FIXTURES = Path(__file__).parent / "fixtures"
BERLIN = ZoneInfo("Europe/Berlin")
WINDOW = (datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 6, 1, tzinfo=UTC))
USER_KEYS = {
    "alice@example.com": "u-alice",
    "bob@example.com": "u-bob",
    "carol": "u-carol",
    "dave": "u-dave",
    "erin@example.com": "u-erin",
    "frank@example.com": "u-frank",
    "grace@example.com": "u-grace",
    "heidi": "u-heidi",
}


def load(name: str) -> IcalImport:
    data = (FIXTURES / name).read_bytes()
    return import_ical(
        data, start=WINDOW[0], end=WINDOW[1], user_keys=USER_KEYS, time_zone="Europe/Berlin"
    )


def who(
    result: IcalImport, year: int, month: int, day: int, hour: int, minute: int = 0
) -> tuple[str, ...]:
    layer = CalendarLayer("cal", "calendar", result.shifts)
    definition = ScheduleDefinition("Europe/Berlin", (layer,))
    return on_call_at(definition, datetime(year, month, day, hour, minute, tzinfo=BERLIN))


def test_google_weekly_series_with_exdate_and_moved_instance() -> None:
    google = load("google_oncall.ics")
    assert who(google, 2025, 3, 3, 9) == ("u-alice",)
    assert who(google, 2025, 3, 4, 8, 59) == ("u-alice",)
    assert who(google, 2025, 3, 4, 9) == ()
    assert who(google, 2025, 3, 17, 12) == ()  # EXDATE
    # RECURRENCE-ID moved 24 March to 25 March and gave it to Bob.
    assert who(google, 2025, 3, 24, 12) == ()
    assert who(google, 2025, 3, 25, 12) == ("u-bob",)
    # After the DST change the series still starts at 09:00 Berlin time.
    assert who(google, 2025, 3, 31, 8, 59) == ()
    assert who(google, 2025, 3, 31, 9) == ("u-alice",)
    # UNTIL=20250427T220000Z ends the series before 28 April.
    assert who(google, 2025, 4, 28, 12) == ()


def test_google_all_day_midnight_and_unknown_names() -> None:
    google = load("google_oncall.ics")
    # All-day weekend event, "carol\\, dave", in the schedule's time zone.
    assert who(google, 2025, 3, 8, 0) == ("u-carol", "u-dave")
    assert who(google, 2025, 3, 9, 23, 59) == ("u-carol", "u-dave")
    assert who(google, 2025, 3, 7, 23, 59) == ()
    # 22:00–06:00 across midnight; "Erin <erin@example.com>" resolves by email.
    assert who(google, 2025, 3, 12, 23) == ("u-erin",)
    assert who(google, 2025, 3, 13, 5, 59) == ("u-erin",)
    # The cancelled event leaves no shift.
    assert who(google, 2025, 3, 15, 10) == ()
    # Mallory is unknown: reported, and the known name on the event still counts.
    assert who(google, 2025, 3, 14, 10) == ("u-alice",)
    assert [(u.name, u.count) for u in google.unknown_names] == [("mallory", 1)]
    assert "2025-03-14T08:00:00+00:00" in google.unknown_names[0].examples[0]


def test_outlook_thisandfuture_windows_zone_and_all_day() -> None:
    outlook = load("outlook_oncall.ics")
    assert who(outlook, 2025, 4, 2, 9) == ("u-frank",)
    assert who(outlook, 2025, 4, 9, 16, 59) == ("u-frank",)
    # RANGE=THISANDFUTURE from 16 April: one hour later, and Grace's from then on.
    assert who(outlook, 2025, 4, 16, 9, 30) == ()
    assert who(outlook, 2025, 4, 16, 17, 30) == ("u-grace",)
    assert who(outlook, 2025, 5, 28, 10) == ("u-grace",)
    assert who(outlook, 2025, 5, 28, 9, 30) == ()
    assert who(outlook, 2025, 4, 5, 12) == ("u-heidi",)
    assert outlook.unknown_names == ()


def test_occurrence_ids_are_unique_and_stable() -> None:
    first, again = load("outlook_oncall.ics"), load("outlook_oncall.ics")
    ids = [s.id for s in first.shifts]
    assert len(ids) == len(set(ids))
    assert ids == [s.id for s in again.shifts]
    assert all(s.id.startswith("040000008200E00074C5B7101A82E008") for s in first.shifts)


def test_fast_path_and_icalendar_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    fast = [load("google_oncall.ics"), load("outlook_oncall.ics")]
    monkeypatch.setattr(ical_text, "_plain", lambda block: None)  # force icalendar for all
    slow = [load("google_oncall.ics"), load("outlook_oncall.ics")]
    assert fast == slow


def test_window_clips_shifts() -> None:
    data = (FIXTURES / "google_oncall.ics").read_bytes()
    start, end = datetime(2025, 3, 3, 12, tzinfo=BERLIN), datetime(2025, 3, 3, 13, tzinfo=BERLIN)
    result = import_ical(data, start=start, end=end, user_keys=USER_KEYS)
    assert [(s.start, s.end, s.users) for s in result.shifts] == [(start, end, ("u-alice",))]


def test_calendar_as_overrides() -> None:
    result = load("outlook_oncall.ics")
    overrides = overrides_from_shifts(result.shifts, prefix="ical:")
    assert overrides[0].id == f"ical:{result.shifts[0].id}"
    assert overrides[0].users == ("u-frank",)


GOOD_EVENT = "\r\n".join(
    (
        "BEGIN:VEVENT",
        "UID:x",
        "DTSTART:20250301T090000Z",
        "DTEND:20250301T100000Z",
        "SUMMARY:alice@example.com",
        "END:VEVENT",
        "",
    )
)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "BEGIN:VCALENDAR"),
        (b"<html>Sign in to Google</html>", "BEGIN:VCALENDAR"),
        (b"BEGIN:VCALENDAR\r\n\xff\xfe\r\nEND:VCALENDAR\r\n", "UTF-8"),
        (f"BEGIN:VCALENDAR\r\n{GOOD_EVENT[:-12]}END:VCALENDAR\r\n".encode(), "END:VCALENDAR"),
        (b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\n", "never closed"),
        (
            b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:2025-03-01\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            "could not read",
        ),
        (
            b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20250301T090000Z\r\n"
            b"RRULE:FREQ=SOMETIMES\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            "could not read",
        ),
    ],
)
def test_malformed_feeds_raise_ical_error(data: bytes, message: str) -> None:
    with pytest.raises(IcalError, match=message) as info:
        import_ical(data, start=WINDOW[0], end=WINDOW[1], user_keys=USER_KEYS)
    assert info.value.message


def test_minimal_feed_is_read() -> None:
    data = f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n{GOOD_EVENT}END:VCALENDAR\r\n".encode()
    result = import_ical(data, start=WINDOW[0], end=WINDOW[1], user_keys=USER_KEYS)
    assert [s.users for s in result.shifts] == [("u-alice",)]
