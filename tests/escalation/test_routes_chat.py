"""Critical pages whoever is on call; warnings only go to chat, updated on acknowledge."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient

from tests.alerts.conftest import am_alert, am_webhook, ingest_path
from tests.conftest import Account
from tests.escalation.conftest import Receiver, verified_webhook_method
from watchkeeper.clock import FixedClock
from watchkeeper.db.engine import Database
from watchkeeper.escalation.engine import Engine


def test_oncall_page_and_warning_to_chat(
    client: TestClient,
    admin: Account,
    make_account: Callable[..., Account],
    receiver: Receiver,
    engine: Engine,
    db: Database,
    clock: FixedClock,
) -> None:
    team = client.post("/api/v1/teams", json={"name": "ops"}, headers=admin.headers).json()
    ada = make_account("editor", teams=(team["id"],), email="ada@example.com")
    bob = make_account("editor", teams=(team["id"],), email="bob@example.com")
    verified_webhook_method(client, ada, receiver, engine, db, clock)
    # Ada is on call now via an override; Bob is not.
    schedule = client.post(
        "/api/v1/schedules",
        json={"name": "primary", "time_zone": "UTC", "team_id": team["id"]},
        headers=admin.headers,
    ).json()
    override = client.post(
        f"/api/v1/schedules/{schedule['id']}/overrides",
        json={
            "start": (clock.now() - timedelta(hours=1)).isoformat(),
            "end": (clock.now() + timedelta(hours=8)).isoformat(),
            "user_ids": [ada.id],
        },
        headers=admin.headers,
    )
    assert override.status_code == 201, override.text
    oncall = client.get(f"/api/v1/schedules/{schedule['id']}/oncall", headers=admin.headers)
    assert [u["id"] for u in oncall.json()["users"]] == [ada.id]
    chain = client.post(
        "/api/v1/escalation-chains",
        json={
            "name": "page on-call",
            "team_id": team["id"],
            "steps": [{"type": "notify_on_call", "schedule_id": schedule["id"]}],
        },
        headers=admin.headers,
    ).json()
    chat = client.post(
        "/api/v1/chat-destinations",
        json={
            "name": "ops channel",
            "type": "webhook",
            "team_id": team["id"],
            "settings": {"url": receiver.url + "/chat", "secret": "c" * 20},
        },
        headers=admin.headers,
    )
    assert chat.status_code == 201, chat.text
    integration = client.post(
        "/api/v1/integrations",
        json={"name": "am", "kind": "alertmanager", "team_id": team["id"]},
        headers=admin.headers,
    ).json()
    for body in (
        {"position": 0, "matchers": 'severity="critical"', "escalation_chain_id": chain["id"]},
        {
            "position": 1,
            "matchers": 'severity="warning"',
            "chat_destination_ids": [chat.json()["id"]],
        },
    ):
        route = client.post(
            f"/api/v1/integrations/{integration['id']}/routes", json=body, headers=admin.headers
        )
        assert route.status_code == 201, route.text

    client.post(
        ingest_path(integration), json=am_webhook("w", [am_alert("Slow", severity="warning")])
    )
    engine.drain(clock.now())
    assert [r["path"] for r in receiver.requests] == ["/hook/chat"]
    assert receiver.bodies()[0]["message"]["kind"] == "chat"

    client.post(ingest_path(integration), json=am_webhook("c", [am_alert("Down")]))
    engine.drain(clock.now())
    assert [r["path"] for r in receiver.requests] == ["/hook/chat", "/hook"]
    assert receiver.bodies()[1]["message"]["title"] == "Down is broken"
    assert bob.email not in str(receiver.bodies())

    # Acknowledging the warning group updates the chat message.
    warning = client.get(
        "/api/v1/alert-groups", params={"label": "alertname=Slow"}, headers=admin.headers
    ).json()["items"][0]
    client.post(f"/api/v1/alert-groups/{warning['id']}/acknowledge", headers=admin.headers)
    engine.drain(clock.now())
    assert receiver.requests[-1]["path"] == "/hook/chat"
    assert receiver.bodies()[-1]["message"]["title"].startswith("[ACKNOWLEDGED]")
