"""The timeline: linked groups through the outbox feed, notes, key moments, updates, reminders."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.alerts.conftest import am_alert, am_webhook
from tests.conftest import Account
from tests.incidents.conftest import declare, run_task, timeline
from watchkeeper.alerts.models import OutboxCursor, OutboxEvent
from watchkeeper.clock import FixedClock
from watchkeeper.db.engine import Database
from watchkeeper.incidents import feed, reminders


def _outbox(db: Database, topic: str) -> list[dict[str, Any]]:
    with db.read() as session:
        return list(
            session.scalars(
                select(OutboxEvent.payload)
                .where(OutboxEvent.topic == topic)
                .order_by(OutboxEvent.id)
            )
        )


def test_linked_group_changes_reach_the_timeline(
    client: TestClient,
    admin: Account,
    make_account: Callable[..., Account],
    make_group: Callable[[str], int],
    integration: dict[str, Any],
    db: Database,
    clock: FixedClock,
) -> None:
    responder = make_account("admin")
    gid, unrelated = make_group("CheckoutErrors"), make_group("Unrelated")
    incident = declare(client, admin, group_ids=[gid])
    clock.advance(timedelta(minutes=2))
    ack = client.post(f"/api/v1/alert-groups/{gid}/acknowledge", headers=responder.headers)
    assert ack.status_code == 200, ack.text
    client.post(f"/api/v1/alert-groups/{unrelated}/acknowledge", headers=admin.headers)
    # A second alert joins the group, then the sender resolves everything.
    path = "/ingest/" + integration["token"]
    more = [am_alert("CheckoutErrors"), am_alert("CheckoutErrors", instance="b")]
    client.post(path, json=am_webhook("key-CheckoutErrors", more))
    clock.advance(timedelta(minutes=3))
    client.post(f"/api/v1/alert-groups/{gid}/resolve", headers=responder.headers)

    assert run_task(db, feed.consume, clock.now()) == 3
    entries = timeline(client, admin, incident["id"])
    fed = [e for e in entries if e["kind"].startswith("group_") and e["kind"] != "group_linked"]
    assert [(e["kind"], e["text"]) for e in fed] == [
        ("group_acknowledged", f"Alert group #{gid} acknowledged by {responder.email}"),
        ("group_firing", f"Alert group #{gid}: 1 new alert(s) firing"),
        ("group_resolved", f"Alert group #{gid} resolved by {responder.email}"),
    ]
    assert fed[0]["actor_type"] == "user" and fed[0]["actor_id"] == responder.id
    # Young events are read again on the next run (late commits are not skipped),
    # but each becomes one entry only.
    assert run_task(db, feed.consume, clock.now()) == 0
    with db.read() as session:
        cursor = session.get(OutboxCursor, feed.CONSUMER)
        resolved_id = session.scalar(
            select(OutboxEvent.id).where(OutboxEvent.topic == "group.resolved")
        )
        assert cursor is not None and resolved_id is not None
        assert 0 < cursor.last_id < resolved_id, "the cursor waits for young events to settle"
    clock.advance(feed.SETTLE * 2)
    assert run_task(db, feed.consume, clock.now()) == 0
    with db.read() as session:
        cursor = session.get(OutboxCursor, feed.CONSUMER)
        newest = session.scalar(select(OutboxEvent.id).order_by(OutboxEvent.id.desc()).limit(1))
        assert cursor is not None and cursor.last_id == newest
    detail = client.get(f"/api/v1/incidents/{incident['id']}", headers=admin.headers).json()
    helpers = {p["user_id"]: p for p in detail["participants"]}
    assert f"acknowledged alert group #{gid}" in helpers[responder.id]["contributions"]


def test_notes_key_moments_and_edit_history(
    client: TestClient, admin: Account, clock: FixedClock
) -> None:
    incident = declare(client, admin)
    url = f"/api/v1/incidents/{incident['id']}/timeline"
    note = client.post(
        url, json={"text": "Error rate 40% since deploy 1432"}, headers=admin.headers
    )
    assert note.status_code == 201, note.text
    decision = client.post(
        url,
        json={"kind": "decision", "text": "Roll back deploy 1432", "pinned": True},
        headers=admin.headers,
    ).json()
    link_without_url = client.post(url, json={"kind": "link", "text": "x"}, headers=admin.headers)
    assert link_without_url.status_code == 422
    link = client.post(
        url,
        json={"kind": "link", "text": "Dashboard", "url": "https://grafana.example/d/1"},
        headers=admin.headers,
    )
    assert link.json()["details"] == {"url": "https://grafana.example/d/1"}
    empty = client.post(url, json={"text": " "}, headers=admin.headers)
    assert empty.status_code == 422

    clock.advance(timedelta(minutes=1))
    edited = client.patch(
        f"{url}/{decision['id']}",
        json={"text": "Roll back deploy 1432 and freeze deploys"},
        headers=admin.headers,
    ).json()
    assert edited["text"] == "Roll back deploy 1432 and freeze deploys"
    assert edited["history"] == [
        {
            "text": "Roll back deploy 1432",
            "at": decision["at"].replace("Z", "+00:00"),
            "edited_at": clock.now().isoformat(),
            "by": admin.email,
        }
    ]
    pinned = client.patch(
        f"{url}/{note.json()['id']}", json={"pinned": True}, headers=admin.headers
    ).json()
    assert pinned["pinned"] and pinned["history"] == []
    moments = client.get(f"{url}?pinned=true", headers=admin.headers).json()["items"]
    assert [m["kind"] for m in moments] == ["declared", "note", "decision"]
    missing = client.patch(f"{url}/99999", json={"pinned": True}, headers=admin.headers)
    assert missing.status_code == 404


def test_status_update_goes_to_the_outbox(
    client: TestClient, admin: Account, make_account: Callable[..., Account], db: Database
) -> None:
    watcher = make_account("viewer")
    incident = declare(client, admin, severity="SEV2")
    sub = client.put(f"/api/v1/incidents/{incident['id']}/subscription", headers=watcher.headers)
    assert sub.status_code == 204
    posted = client.post(
        f"/api/v1/incidents/{incident['id']}/updates",
        json={"text": "We rolled back; error rate is falling.", "status": "monitoring"},
        headers=admin.headers,
    )
    assert posted.status_code == 201, posted.text
    assert posted.json()["kind"] == "status_update"
    [event] = _outbox(db, "incident.status_update")
    assert event["incident_id"] == incident["id"]
    assert event["text"] == "We rolled back; error rate is falling."
    assert event["status"] == "monitoring"
    assert event["subscriber_user_ids"] == sorted([admin.id, watcher.id])
    detail = client.get(f"/api/v1/incidents/{incident['id']}", headers=admin.headers).json()
    assert detail["status"] == "monitoring"
    assert detail["last_update_at"] is not None


def test_update_reminder_once_per_overdue_period(
    client: TestClient, admin: Account, db: Database, clock: FixedClock
) -> None:
    incident = declare(client, admin, severity="SEV2")  # 30-minute updates
    declare(client, admin, severity="SEV4")  # never reminded
    clock.advance(timedelta(minutes=29))
    assert run_task(db, reminders.update_reminders, clock.now()) == 0
    clock.advance(timedelta(minutes=2))
    assert run_task(db, reminders.update_reminders, clock.now()) == 1
    assert run_task(db, reminders.update_reminders, clock.now()) == 0
    clock.advance(timedelta(minutes=20))
    assert run_task(db, reminders.update_reminders, clock.now()) == 0
    clock.advance(timedelta(minutes=10))  # 61 minutes: the next period
    assert run_task(db, reminders.update_reminders, clock.now()) == 1
    client.post(
        f"/api/v1/incidents/{incident['id']}/updates",
        json={"text": "Still on it"},
        headers=admin.headers,
    )
    clock.advance(timedelta(minutes=29))
    assert run_task(db, reminders.update_reminders, clock.now()) == 0
    payloads = _outbox(db, "incident.update_reminder")
    assert [p["minutes_since_update"] for p in payloads] == [31, 61]
    assert payloads[0]["commander_id"] == admin.id
    client.post(
        f"/api/v1/incidents/{incident['id']}/status",
        json={"status": "resolved"},
        headers=admin.headers,
    )
    clock.advance(timedelta(hours=5))
    assert run_task(db, reminders.update_reminders, clock.now()) == 0
