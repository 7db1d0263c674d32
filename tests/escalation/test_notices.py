"""Incident status updates and schedule notices reach people through the engine."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Account
from tests.escalation.conftest import Receiver, verified_webhook_method
from watchkeeper.alerts import store
from watchkeeper.clock import FixedClock
from watchkeeper.db.engine import Database
from watchkeeper.escalation.engine import Engine


def test_status_update_reaches_subscribers_and_team_chat(
    client: TestClient,
    admin: Account,
    make_account: Callable[..., Account],
    receiver: Receiver,
    engine: Engine,
    db: Database,
    clock: FixedClock,
) -> None:
    team = client.post("/api/v1/teams", json={"name": "ops"}, headers=admin.headers).json()
    watcher = make_account("viewer", email="watcher@example.com")
    verified_webhook_method(client, watcher, receiver, engine, db, clock)
    client.post(
        "/api/v1/chat-destinations",
        json={
            "name": "ops",
            "type": "webhook",
            "team_id": team["id"],
            "settings": {"url": receiver.url + "/chat", "secret": "c" * 20},
        },
        headers=admin.headers,
    ).raise_for_status()
    incident = client.post(
        "/api/v1/incidents",
        json={"title": "Checkout errors", "severity": "SEV2", "team_id": team["id"]},
        headers=admin.headers,
    )
    assert incident.status_code == 201, incident.text
    incident_id = incident.json()["id"]
    subscribed = client.put(
        f"/api/v1/incidents/{incident_id}/subscription", headers=watcher.headers
    )
    assert subscribed.status_code == 204
    engine.drain(clock.now())
    receiver.requests.clear()
    posted = client.post(
        f"/api/v1/incidents/{incident_id}/updates",
        json={"text": "Rolled back; error rate falling."},
        headers=admin.headers,
    )
    assert posted.status_code in (200, 201), posted.text
    engine.drain(clock.now())
    by_path: dict[str, list[dict[str, Any]]] = {}
    for request in receiver.requests:
        by_path.setdefault(request["path"], []).append(request["json"]["message"])
    assert by_path["/hook"][0]["title"] == f"Update on INC-{incident_id} Checkout errors"
    assert by_path["/hook"][0]["summary"] == "Rolled back; error rate falling."
    assert by_path["/hook/chat"][0]["summary"] == "Rolled back; error rate falling."
    engine.drain(clock.now())  # nothing is sent twice
    assert len(receiver.requests) == 2


def test_shift_reminder_reaches_the_person(
    client: TestClient,
    make_account: Callable[..., Account],
    receiver: Receiver,
    engine: Engine,
    db: Database,
    clock: FixedClock,
) -> None:
    ada = make_account("editor", email="ada@example.com")
    verified_webhook_method(client, ada, receiver, engine, db, clock)
    with db.write() as session:
        store.outbox(
            session,
            clock.now(),
            [
                (
                    "schedule.shift_starts_soon",
                    None,
                    {
                        "schedule_id": 7,
                        "schedule_name": "Platform primary",
                        "start": "2026-03-02T10:30:00+00:00",
                        "end": "2026-03-03T10:30:00+00:00",
                        "user_ids": [ada.id],
                    },
                )
            ],
        )
    engine.drain(clock.now())
    message = receiver.bodies()[-1]["message"]
    assert message["title"] == "Your on-call shift in Platform primary starts Mon 02 Mar 10:30 UTC"
