"""Helpers for the schedules API tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Account


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def create_schedule(
    client: TestClient, account: Account, name: str = "Primary", **extra: Any
) -> dict[str, Any]:
    response = client.post(
        "/api/v1/schedules",
        json={"name": name, "time_zone": extra.pop("time_zone", "UTC"), **extra},
        headers=account.headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def add_rotation_layer(
    client: TestClient,
    account: Account,
    schedule_id: int,
    user_ids: list[int],
    start: datetime,
    *,
    count: int = 1,
    unit: str = "days",
    **extra: Any,
) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/schedules/{schedule_id}/layers",
        json={
            "name": "main",
            "rotations": [
                {
                    "user_ids": user_ids,
                    "start": iso(start),
                    "shift_count": count,
                    "shift_unit": unit,
                    **extra,
                }
            ],
        },
        headers=account.headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def ics(*events: tuple[datetime, datetime, str], uid_prefix: str = "e") -> bytes:
    """A minimal calendar of one-off UTC events (start, end, summary)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN"]
    for index, (start, end, summary) in enumerate(events):
        lines += [
            "BEGIN:VEVENT",
            f"UID:{uid_prefix}{index}@test",
            f"DTSTART:{start.strftime('%Y%m%dT%H%M%SZ')}",
            f"DTEND:{end.strftime('%Y%m%dT%H%M%SZ')}",
            f"SUMMARY:{summary}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()
