"""The fixed contracts: iCal upload, who is on call, final shifts, quality."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import T0, Account
from tests.schedules.helpers import add_rotation_layer, create_schedule, ics, iso

FIXTURES = Path(__file__).parent / "fixtures"
ICS = {"Content-Type": "text/calendar"}
H = timedelta(hours=1)


def oncall(client: TestClient, account: Account, sid: int, at: str | None = None) -> dict[str, Any]:
    params = {"at": at} if at else {}
    response = client.get(f"/api/v1/schedules/{sid}/oncall", params=params, headers=account.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def emails(body: dict[str, Any]) -> list[str]:
    return [u["email"] for u in body["users"]]


def test_google_calendar_upload(
    client: TestClient, admin: Account, make_user: Callable[..., int]
) -> None:
    for email in ("alice@example.com", "bob@example.com", "erin@example.com"):
        make_user(email)
    make_user("carol.c@example.com", username="carol")
    make_user("dave.d@example.com", username="dave")
    sid = create_schedule(client, admin, time_zone="Europe/Berlin")["id"]
    data = (FIXTURES / "google_oncall.ics").read_bytes()
    response = client.put(
        f"/api/v1/schedules/{sid}/ical", content=data, headers={**ICS, **admin.headers}
    )
    assert response.status_code == 200, response.text
    calendar = response.json()
    assert calendar["kind"] == "primary" and calendar["source"] == "upload"
    # "mallory" matches nobody: reported on the schedule, not dropped silently.
    assert [(u["name"], u["count"]) for u in calendar["unknown_names"]] == [("mallory", 1)]
    schedule = client.get(f"/api/v1/schedules/{sid}", headers=admin.headers).json()
    assert any("mallory" in warning for warning in schedule["warnings"])
    # Instants in the past, in the calendar's own time zone.
    monday = oncall(client, admin, sid, "2025-03-03T10:00:00+01:00")
    assert emails(monday) == ["alice@example.com"]
    assert monday["until"] == "2025-03-04T08:00:00Z"
    assert {"id", "email", "name"} <= set(monday["users"][0])
    assert emails(oncall(client, admin, sid, "2025-03-25T12:00:00+01:00")) == ["bob@example.com"]
    weekend = oncall(client, admin, sid, "2025-03-08T12:00:00+01:00")
    assert emails(weekend) == ["carol.c@example.com", "dave.d@example.com"]
    assert emails(oncall(client, admin, sid, "2025-03-12T23:00:00+01:00")) == ["erin@example.com"]
    gap = oncall(client, admin, sid, "2025-03-17T12:00:00+01:00")  # EXDATE
    assert gap["users"] == [] and gap["is_gap"]


def test_outlook_calendar_upload(
    client: TestClient, admin: Account, make_user: Callable[..., int]
) -> None:
    make_user("frank@example.com")
    make_user("grace@example.com")
    make_user("h@example.com", username="heidi")
    sid = create_schedule(client, admin, time_zone="Europe/Berlin")["id"]
    data = (FIXTURES / "outlook_oncall.ics").read_bytes()
    response = client.put(
        f"/api/v1/schedules/{sid}/ical", content=data, headers={**ICS, **admin.headers}
    )
    assert response.status_code == 200
    assert response.json()["unknown_names"] == []
    assert emails(oncall(client, admin, sid, "2025-04-02T09:00:00+02:00")) == ["frank@example.com"]
    assert emails(oncall(client, admin, sid, "2025-04-16T17:30:00+02:00")) == ["grace@example.com"]
    assert emails(oncall(client, admin, sid, "2025-04-05T12:00:00+02:00")) == ["h@example.com"]


def test_malformed_calendar_is_a_clear_400(client: TestClient, admin: Account) -> None:
    sid = create_schedule(client, admin)["id"]
    for body, fragment in (
        (b"<html>Sign in</html>", "BEGIN:VCALENDAR"),
        (b"", "empty"),
        (b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VCALENDAR\r\n", "could not be read"),
    ):
        response = client.put(
            f"/api/v1/schedules/{sid}/ical", content=body, headers={**ICS, **admin.headers}
        )
        assert response.status_code == 400, body
        assert fragment in response.json()["error"]["message"]
    schedule = client.get(f"/api/v1/schedules/{sid}", headers=admin.headers).json()
    assert schedule["calendars"] == []


def test_oncall_past_now_and_future(
    client: TestClient, admin: Account, make_user: Callable[..., int]
) -> None:
    ids = [make_user(f"{n}@example.com") for n in ("ana", "ben", "chen")]
    sid = create_schedule(client, admin)["id"]
    add_rotation_layer(client, admin, sid, ids, datetime(2026, 3, 2, 9, tzinfo=UTC))
    now = oncall(client, admin, sid)
    assert now["at"] == "2026-03-02T10:00:00Z"
    assert emails(now) == ["ana@example.com"]
    assert now["until"] == "2026-03-03T09:00:00Z"
    assert emails(oncall(client, admin, sid, "2026-03-03T12:00:00Z")) == ["ben@example.com"]
    # 305 days after the start: 305 % 3 == 2.
    far = oncall(client, admin, sid, "2027-01-01T12:00:00Z")
    assert emails(far) == ["chen@example.com"]
    before = oncall(client, admin, sid, "2026-02-20T00:00:00Z")
    assert before["users"] == [] and before["is_gap"]
    assert before["until"] == "2026-03-02T09:00:00Z"
    # A gap reaching past the 35-day horizon has no known end.
    assert oncall(client, admin, sid, "2026-01-01T00:00:00Z")["until"] is None
    bad = client.get(
        f"/api/v1/schedules/{sid}/oncall", params={"at": "soon"}, headers=admin.headers
    )
    assert bad.status_code == 422


def test_overrides_win(client: TestClient, admin: Account, make_user: Callable[..., int]) -> None:
    ana, ben = make_user("ana@example.com"), make_user("ben@example.com")
    sid = create_schedule(client, admin)["id"]
    add_rotation_layer(client, admin, sid, [ana], datetime(2026, 3, 1, tzinfo=UTC), unit="weeks")
    assert emails(oncall(client, admin, sid)) == ["ana@example.com"]
    override = {"start": iso(T0), "end": iso(T0 + 2 * H), "user_ids": [ben]}
    client.post(f"/api/v1/schedules/{sid}/overrides", json=override, headers=admin.headers)
    during = oncall(client, admin, sid)
    assert emails(during) == ["ben@example.com"]
    assert during["until"] == iso(T0 + 2 * H)
    assert during["source"].startswith("override:")
    assert emails(oncall(client, admin, sid, iso(T0 + 2 * H))) == ["ana@example.com"]
    # An overrides calendar beats layers too; stored overrides beat it.
    calendar = ics((T0 + H, T0 + 5 * H, "ana@example.com, ben@example.com"))
    put = client.put(
        f"/api/v1/schedules/{sid}/ical/overrides",
        content=calendar,
        headers={**ICS, **admin.headers},
    )
    assert put.status_code == 200 and put.json()["kind"] == "overrides"
    assert emails(oncall(client, admin, sid, iso(T0 + 4 * H))) == [
        "ana@example.com",
        "ben@example.com",
    ]
    assert emails(oncall(client, admin, sid, iso(T0 + 1.5 * H))) == ["ben@example.com"]


def test_shifts_partition_the_range_with_gaps(
    client: TestClient, admin: Account, make_user: Callable[..., int]
) -> None:
    ana, ben = make_user("ana@example.com"), make_user("ben@example.com")
    sid = create_schedule(client, admin)["id"]
    workday = [{"weekdays": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}]
    add_rotation_layer(
        client, admin, sid, [ana, ben], datetime(2026, 3, 2, 9, tzinfo=UTC), restrictions=workday
    )
    start, end = "2026-03-02T00:00:00Z", "2026-03-04T00:00:00Z"
    response = client.get(
        f"/api/v1/schedules/{sid}/shifts",
        params={"start": start, "end": end},
        headers=admin.headers,
    )
    assert response.status_code == 200
    items = response.json()["items"]
    assert items[0]["start"] == start and items[-1]["end"] == end
    assert all(a["end"] == b["start"] for a, b in pairwise(items))
    summary = [(i["start"][8:13], i["is_gap"], emails(i)) for i in items]
    assert summary == [
        ("02T00", True, []),
        ("02T09", False, ["ana@example.com"]),
        ("02T17", True, []),
        ("03T09", False, ["ben@example.com"]),
        ("03T17", True, []),
    ]
    for params in (
        {"start": start, "end": "2027-06-01T00:00:00Z"},
        {"start": end, "end": start},
    ):
        bad = client.get(f"/api/v1/schedules/{sid}/shifts", params=params, headers=admin.headers)
        assert bad.status_code == 422


def test_quality_finds_gap_and_overload(
    client: TestClient, admin: Account, make_user: Callable[..., int]
) -> None:
    ana, ben, chen, dara = (
        make_user(f"{n}@example.com", time_zone="Europe/Berlin")
        for n in ("ana", "ben", "chen", "dara")
    )
    sid = create_schedule(client, admin)["id"]
    # Ana takes three days of every six: twice the average of four people.
    add_rotation_layer(client, admin, sid, [ana, ana, ana, ben, chen, dara], T0)
    tuesday = datetime(2026, 3, 10, 12, tzinfo=UTC)
    override = {"start": iso(tuesday), "end": iso(tuesday + 3 * H), "user_ids": []}
    client.post(f"/api/v1/schedules/{sid}/overrides", json=override, headers=admin.headers)
    response = client.get(f"/api/v1/schedules/{sid}/quality", headers=admin.headers)
    assert response.status_code == 200
    report = response.json()
    assert report["start"] == iso(T0) and report["end"] == iso(T0 + timedelta(days=30))
    assert [(g["start"], g["hours"], g["urgent"]) for g in report["gaps"]] == [
        ("2026-03-10T12:00:00Z", 3.0, False)
    ]
    messages = [f["message"] for f in report["findings"]]
    assert any(m.startswith("No one is on call from Tue 2026-03-10 12:00") for m in messages)
    overloaded = [f for f in report["findings"] if f["code"] == "overloaded"]
    assert len(overloaded) == 1 and overloaded[0]["message"].startswith("Ana is on call")
    top = report["members"][0]
    assert top["user"]["email"] == "ana@example.com"
    assert top["time_zone"] == "Europe/Berlin"
    assert abs(top["vs_average"] - 1.0) < 0.02
    assert 0 < report["score"] < 100
    for days in (0, 366):
        bad = client.get(
            f"/api/v1/schedules/{sid}/quality", params={"days": days}, headers=admin.headers
        )
        assert bad.status_code == 422
