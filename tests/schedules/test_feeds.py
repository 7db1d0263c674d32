"""iCal export: the schedule feed and the "my shifts" feed parse back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import icalendar
from fastapi.testclient import TestClient

from tests.conftest import T0, Account
from tests.schedules.helpers import add_rotation_layer, create_schedule
from watchkeeper.schedules.ical_import import import_ical
from watchkeeper.schedules.model import CalendarLayer, ScheduleDefinition
from watchkeeper.schedules.resolve import on_call_at


def path_of(url: str) -> str:
    return urlsplit(url).path


def test_schedule_feed_round_trips(
    client: TestClient, admin: Account, make_account: Callable[..., Account]
) -> None:
    ana = make_account("viewer", email="ana@example.com")
    ben = make_account("viewer", email="ben@example.com")
    sid = create_schedule(client, admin, "Platform")["id"]
    add_rotation_layer(client, admin, sid, [ana.id, ben.id], datetime(2026, 3, 2, 9, tzinfo=UTC))
    url = client.get(f"/api/v1/schedules/{sid}/ical-export", headers=ana.headers).json()["url"]
    assert url.startswith("http://127.0.0.1:8080/ical/schedules/") and url.endswith(".ics")
    feed = client.get(path_of(url))  # no bearer token: the URL is the secret
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(feed.content)
    assert str(calendar["X-WR-CALNAME"]) == "Platform"
    events = list(calendar.walk("VEVENT"))
    assert len(events) > 100
    # Import the export again: the same people are on call.
    keys = {"ana": "a", "ben": "b"}
    imported = import_ical(
        feed.content, start=T0, end=T0 + timedelta(days=10), user_keys=keys, time_zone="UTC"
    )
    definition = ScheduleDefinition("UTC", (CalendarLayer("x", "x", imported.shifts),))
    assert on_call_at(definition, T0) == ("a",)
    assert on_call_at(definition, T0 + timedelta(days=1)) == ("b",)

    # Viewers cannot regenerate; editors of the schedule can, and the old URL dies.
    regen = f"/api/v1/schedules/{sid}/ical-export/regenerate"
    assert client.post(regen, headers=ana.headers).status_code == 403
    new_url = client.post(regen, headers=admin.headers).json()["url"]
    assert new_url != url
    assert client.get(path_of(url)).status_code == 404
    assert client.get(path_of(new_url)).status_code == 200


def test_my_shifts_feed(
    client: TestClient, admin: Account, make_account: Callable[..., Account]
) -> None:
    ana = make_account("viewer", email="ana@example.com")
    ben = make_account("viewer", email="ben@example.com")
    first = create_schedule(client, admin, "Primary")["id"]
    second = create_schedule(client, admin, "Secondary")["id"]
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    add_rotation_layer(client, admin, first, [ana.id, ben.id], start, unit="weeks")
    add_rotation_layer(client, admin, second, [ben.id], start, unit="weeks")
    assert client.get("/api/v1/me/shifts-feed", headers=ana.headers).json() == {"url": None}
    url = client.post("/api/v1/me/shifts-feed", headers=ana.headers).json()["url"]
    assert client.get("/api/v1/me/shifts-feed", headers=ana.headers).json() == {"url": url}
    feed = client.get(path_of(url))
    assert feed.status_code == 200
    events = list(icalendar.Calendar.from_ical(feed.content).walk("VEVENT"))
    assert {str(e["SUMMARY"]) for e in events} == {"On call: Primary"}
    first_event = min(events, key=lambda e: e.decoded("DTSTART"))
    assert first_event.decoded("DTSTART") == datetime(2026, 2, 23, 9, tzinfo=UTC) + timedelta(
        days=7
    )
    assert first_event.decoded("DTEND") - first_event.decoded("DTSTART") == timedelta(days=7)
    assert client.get("/ical/users/not-a-token.ics").status_code == 404
