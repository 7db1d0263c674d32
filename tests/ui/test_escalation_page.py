"""The escalation chain page says each step in plain words."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.conftest import Account
from tests.ui.conftest import Browser


def test_chain_steps_in_plain_words(
    client: TestClient, admin: Account, sign_in: Callable[..., Browser]
) -> None:
    schedule = client.post(
        "/api/v1/schedules",
        json={"name": "Platform primary", "time_zone": "UTC"},
        headers=admin.headers,
    ).json()
    client.post(
        "/api/v1/escalation-chains",
        json={
            "name": "Platform",
            "ack_timeout_minutes": 30,
            "steps": [
                {"type": "notify_on_call", "schedule_id": schedule["id"], "important": True},
                {"type": "wait", "minutes": 5},
                {"type": "repeat", "times": 2},
            ],
        },
        headers=admin.headers,
    ).raise_for_status()
    page = sign_in("viewer").get("/escalation-chains")
    assert "Notify whoever is on call in Platform primary (important)" in page
    assert "Wait 5 minutes" in page
    assert "Start again from the top (at most 2 times)" in page
    assert "acknowledgement expires after 30 minutes" in page
