"""The engine keeps routes and webhooks between passes; every change to them still takes effect."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.alerts.conftest import am_alert, am_webhook, ingest_path
from tests.conftest import Account
from tests.escalation.conftest import Receiver
from watchkeeper.alerts.models import GroupEvent, OutboxEvent
from watchkeeper.clock import FixedClock
from watchkeeper.db.engine import Database
from watchkeeper.escalation import consumer
from watchkeeper.escalation.engine import Engine
from watchkeeper.escalation.routing_config import CONFIG_TOPIC, RoutingConfig


def _chat(client: TestClient, admin: Account, receiver: Receiver) -> int:
    chat = client.post(
        "/api/v1/chat-destinations",
        json={
            "name": "ops channel",
            "type": "webhook",
            "settings": {"url": receiver.url + "/chat", "secret": "c" * 20},
        },
        headers=admin.headers,
    )
    assert chat.status_code == 201, chat.text
    return int(chat.json()["id"])


def _fire(client: TestClient, integration: dict[str, Any], key: str, severity: str) -> None:
    body = am_webhook(key, [am_alert(key, severity=severity)])
    assert client.post(ingest_path(integration), json=body).status_code == 202


def test_adding_changing_and_deleting_a_route_applies_to_the_next_group(
    client: TestClient,
    admin: Account,
    make_integration: Callable[..., dict[str, Any]],
    receiver: Receiver,
    engine: Engine,
    clock: FixedClock,
) -> None:
    integration = make_integration("alertmanager")
    chat = _chat(client, admin, receiver)
    _fire(client, integration, "before", "critical")
    engine.drain(clock.now())  # the engine now holds "no routes" for this integration
    assert receiver.requests == []
    routes = f"/api/v1/integrations/{integration['id']}/routes"
    body = {"position": 0, "matchers": 'severity="critical"', "chat_destination_ids": [chat]}
    route = client.post(routes, json=body, headers=admin.headers).json()
    _fire(client, integration, "added", "critical")
    engine.drain(clock.now())
    assert [b["message"]["title"] for b in receiver.bodies()] == ["added is broken"]
    changed = {**body, "matchers": 'severity="warning"'}
    client.put(f"{routes}/{route['id']}", json=changed, headers=admin.headers)
    _fire(client, integration, "changed-critical", "critical")
    _fire(client, integration, "changed-warning", "warning")
    engine.drain(clock.now())
    titles = [b["message"]["title"] for b in receiver.bodies()]
    assert titles == ["added is broken", "changed-warning is broken"]
    client.delete(f"{routes}/{route['id']}", headers=admin.headers)
    _fire(client, integration, "deleted", "warning")
    engine.drain(clock.now())
    assert len(receiver.requests) == 2


def test_a_copy_that_missed_outbox_events_is_read_again(
    client: TestClient,
    admin: Account,
    make_integration: Callable[..., dict[str, Any]],
    db: Database,
    clock: FixedClock,
) -> None:
    # Two processes taking turns reading the outbox (PostgreSQL leadership
    # moving): each keeps its own copy, and the change was read by the other.
    integration = make_integration("alertmanager")
    here, there = RoutingConfig(), RoutingConfig()
    _fire(client, integration, "first", "critical")
    _consume(db, clock, here)  # holds "no routes"
    client.post(
        f"/api/v1/integrations/{integration['id']}/routes",
        json={"position": 0, "matchers": "", "name": "everything"},
        headers=admin.headers,
    )
    _fire(client, integration, "second", "critical")
    _consume(db, clock, there)  # reads the change, and the second group
    _fire(client, integration, "third", "critical")
    _consume(db, clock, here)  # the cursor is not where it left it: reads routes again
    with db.read() as session:
        routed = session.scalars(
            select(GroupEvent.group_id).where(GroupEvent.kind == "routed")
        ).all()
    assert len(routed) == 2  # the second and the third group


def test_flushing_a_route_webhook_or_team_change_announces_it(
    client: TestClient,
    admin: Account,
    make_integration: Callable[..., dict[str, Any]],
    db: Database,
) -> None:
    def announced() -> int:
        with db.read() as session:
            topics = session.scalars(select(OutboxEvent.topic)).all()
        return topics.count(CONFIG_TOPIC)

    integration = make_integration("alertmanager")
    team = client.post("/api/v1/teams", json={"name": "ops"}, headers=admin.headers).json()
    seen = announced()
    hook = client.post(
        "/api/v1/outgoing-webhooks",
        json={"name": "h", "url": "http://127.0.0.1:9/h", "team_id": team["id"]},
        headers=admin.headers,
    )
    assert hook.status_code == 201, hook.text
    assert announced() == seen + 1
    client.post(
        f"/api/v1/integrations/{integration['id']}/routes",
        json={"position": 0, "matchers": ""},
        headers=admin.headers,
    )
    assert announced() == seen + 2
    # Deleting the team makes its webhook global (ON DELETE SET NULL).
    assert client.delete(f"/api/v1/teams/{team['id']}", headers=admin.headers).status_code == 204
    assert announced() == seen + 3


def _consume(db: Database, clock: FixedClock, known: RoutingConfig) -> None:
    with db.write() as session:
        consumer.consume(
            session,
            now=clock.now(),
            lock=db.is_postgres,
            base_url="http://wk",
            ack_url_for=lambda _g, _u: None,
            known=known,
        )
