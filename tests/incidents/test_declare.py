"""Declaring incidents from alert groups, status changes, roles, bad input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import Account
from tests.incidents.conftest import declare, timeline
from watchkeeper.alerts.models import OutboxEvent
from watchkeeper.clock import FixedClock
from watchkeeper.db.engine import Database
from watchkeeper.incidents import service
from watchkeeper.incidents import timeline as incident_timeline


def test_declare_from_groups(
    client: TestClient,
    admin: Account,
    make_group: Callable[[str], int],
    team: dict[str, Any],
    db: Database,
) -> None:
    first, second = make_group("CheckoutErrors"), make_group("PaymentsLatency")
    incident = declare(
        client,
        admin,
        title="Checkout is failing",
        summary="5xx on /checkout",
        severity="SEV2",
        group_ids=[first, second],
        affected_services=["checkout", "payments", "checkout"],
        labels={"region": "eu-west-1"},
    )
    assert incident["status"] == "investigating"
    assert incident["severity"] == "SEV2"
    assert incident["group_ids"] == [first, second]
    assert incident["team_id"] == team["id"], "the team comes from the alert groups"
    assert incident["team_name"] == "payments"
    assert incident["affected_services"] == ["checkout", "payments"]
    assert [g["id"] for g in incident["alert_groups"]] == [first, second]
    [commander] = incident["roles"]
    assert (commander["role"], commander["user_id"]) == ("commander", admin.id)
    assert incident["metrics"]["tta_seconds"] == 0
    kinds = [e["kind"] for e in timeline(client, admin, incident["id"])]
    assert kinds == ["declared", "group_linked", "group_linked", "role_assigned"]
    assert [p["user_id"] for p in incident["participants"]] == [admin.id]
    with db.read() as session:
        topics = session.scalars(select(OutboxEvent.topic)).all()
    assert "incident.declared" in topics

    listed = client.get("/api/v1/incidents?active=true", headers=admin.headers).json()
    assert [i["id"] for i in listed["items"]] == [incident["id"]]


def test_link_and_unlink_groups_later(
    client: TestClient, admin: Account, make_group: Callable[[str], int]
) -> None:
    incident = declare(client, admin)
    assert incident["team_id"] is None
    gid = make_group("DiskFull")
    url = f"/api/v1/incidents/{incident['id']}/alert-groups"
    linked = client.post(url, json={"group_ids": [gid]}, headers=admin.headers)
    assert linked.status_code == 200, linked.text
    assert linked.json()["group_ids"] == [gid]
    assert client.delete(f"{url}/{gid}", headers=admin.headers).status_code == 204
    again = client.delete(f"{url}/{gid}", headers=admin.headers)
    assert again.status_code == 404
    assert "not linked" in again.json()["error"]["message"]


def test_bad_input_is_a_clear_4xx(
    client: TestClient, admin: Account, make_group: Callable[[str], int]
) -> None:
    gid = make_group("Down")
    unknown = client.post(
        "/api/v1/incidents", json={"title": "x", "group_ids": [gid, 9999]}, headers=admin.headers
    )
    assert unknown.status_code == 422
    assert unknown.json()["error"]["message"] == "alert group(s) 9999 do not exist"
    empty = client.post("/api/v1/incidents", json={"title": "   "}, headers=admin.headers)
    assert empty.status_code == 422
    assert empty.json()["error"]["code"] == "validation_failed"
    assert "title: must not be empty" in empty.json()["error"]["message"]
    severity = client.post(
        "/api/v1/incidents", json={"title": "x", "severity": "P1"}, headers=admin.headers
    )
    assert severity.status_code == 422
    assert "configured levels: SEV1, SEV2, SEV3, SEV4" in severity.json()["error"]["message"]
    assert client.get("/api/v1/incidents/424242", headers=admin.headers).status_code == 404
    # Nothing half-declared was left behind.
    assert client.get("/api/v1/incidents", headers=admin.headers).json()["items"] == []


def test_status_transitions(client: TestClient, admin: Account, clock: FixedClock) -> None:
    from datetime import timedelta

    incident = declare(client, admin, severity="SEV1")
    url = f"/api/v1/incidents/{incident['id']}/status"
    for status in ("identified", "monitoring"):
        clock.advance(timedelta(minutes=10))
        response = client.post(url, json={"status": status}, headers=admin.headers)
        assert response.status_code == 200, response.text
    clock.advance(timedelta(minutes=10))
    done = client.post(
        url, json={"status": "resolved", "message": "rollback held"}, headers=admin.headers
    )
    body = done.json()
    assert body["status"] == "resolved"
    assert body["metrics"]["ttm_seconds"] == 1200
    assert body["metrics"]["ttr_seconds"] == 1800

    illegal = client.post(url, json={"status": "monitoring"}, headers=admin.headers)
    assert illegal.status_code == 409
    assert illegal.json()["error"] == {
        "code": "conflict",
        "message": f"incident {incident['id']} cannot move from resolved to monitoring; "
        "from resolved it can move to: investigating",
    }
    same = client.post(url, json={"status": "resolved"}, headers=admin.headers)
    assert same.status_code == 409
    unknown = client.post(url, json={"status": "fixed"}, headers=admin.headers)
    assert unknown.status_code == 422
    moments = [
        e["text"] for e in timeline(client, admin, incident["id"]) if e["kind"] == "status_changed"
    ]
    assert moments[-1] == "Status changed from monitoring to resolved: rollback held"
    reopened = client.post(url, json={"status": "investigating"}, headers=admin.headers)
    assert reopened.json()["metrics"]["resolved_at"] is None


def test_severity_change_and_details_on_timeline(client: TestClient, admin: Account) -> None:
    incident = declare(client, admin, severity="SEV3")
    url = f"/api/v1/incidents/{incident['id']}"
    changed = client.patch(
        url, json={"severity": "SEV1", "title": "Checkout down"}, headers=admin.headers
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["severity"], changed.json()["title"]) == ("SEV1", "Checkout down")
    texts = [e["text"] for e in timeline(client, admin, incident["id"])]
    assert "Severity changed from SEV3 to SEV1" in texts
    assert "Changed title" in texts
    null = client.patch(url, json={"title": None}, headers=admin.headers)
    assert null.status_code == 422


def test_role_handover_on_timeline(
    client: TestClient, admin: Account, make_account: Callable[..., Account]
) -> None:
    alice, bob = make_account("editor"), make_account("editor")
    incident = declare(client, admin, commander_id=alice.id)
    url = f"/api/v1/incidents/{incident['id']}/roles"
    handed = client.put(f"{url}/commander", json={"user_id": bob.id}, headers=admin.headers)
    assert handed.status_code == 200, handed.text
    comms = client.put(f"{url}/communications", json={"user_id": alice.id}, headers=admin.headers)
    scribe = client.put(f"{url}/scribe", json={"user_id": alice.id}, headers=admin.headers)
    assert scribe.status_code == 200
    roles = {r["role"]: (r["label"], r["user_id"]) for r in scribe.json()["roles"]}
    assert roles == {
        "commander": ("Incident commander", bob.id),
        "communications": ("Communications lead", alice.id),
        "scribe": ("Scribe", alice.id),
    }
    assert comms.status_code == 200
    entries = timeline(client, admin, incident["id"])
    handover = next(e for e in entries if e["kind"] == "role_handover")
    alice_name, bob_name = alice.email.split("@")[0], bob.email.split("@")[0]
    assert handover["text"] == f"Incident commander handed over from {alice_name} to {bob_name}"
    assert handover["details"] == {"role": "commander", "from_user_id": alice.id, "user_id": bob.id}
    assert client.delete(f"{url}/scribe", headers=admin.headers).status_code == 204
    assert timeline(client, admin, incident["id"])[-1]["kind"] == "role_removed"
    nobody = client.put(f"{url}/commander", json={"user_id": 999}, headers=admin.headers)
    assert nobody.status_code == 422
    bad_name = client.put(f"{url}/Not A Role", json={"user_id": bob.id}, headers=admin.headers)
    assert bad_name.status_code == 422


def test_declare_from_escalation(
    db: Database, clock: FixedClock, make_group: Callable[[str], int]
) -> None:
    gid = make_group("DatabaseDown")
    with db.write() as session:
        incident = service.declare_from_escalation(
            session, group_id=gid, severity="SEV1", now=clock.now()
        )
        first_id = incident.id
        assert (incident.severity, incident.source, incident.title) == (
            "SEV1",
            "escalation",
            "DatabaseDown is broken",
        )
    with db.write() as session:
        again = service.declare_from_escalation(
            session, group_id=gid, severity="SEV1", now=clock.now()
        )
        assert again.id == first_id, "a repeated step finds the open incident"
    other = make_group("Other")
    with db.write() as session:
        fallback = service.declare_from_escalation(
            session, group_id=other, severity="critical", now=clock.now()
        )
        assert fallback.severity == "SEV1"
        declared = incident_timeline.list_entries(session, incident_id=fallback.id)[0]
        assert declared.kind == "declared"
        assert "'critical', which is not configured" in declared.text


def test_severity_levels_are_configurable(client: TestClient, admin: Account) -> None:
    listed = client.get("/api/v1/incident-severities", headers=admin.headers).json()["items"]
    assert [s["name"] for s in listed] == ["SEV1", "SEV2", "SEV3", "SEV4"]
    assert listed[0]["update_reminder_minutes"] == 15
    body = {"rank": 5, "description": "Internal only", "review_due_days": None}
    put = client.put("/api/v1/incident-severities/SEV5", json=body, headers=admin.headers)
    assert put.status_code == 200, put.text
    incident = declare(client, admin)
    assert incident["severity"] == "SEV5", "the default is the least severe level"
    in_use = client.delete("/api/v1/incident-severities/SEV5", headers=admin.headers)
    assert in_use.status_code == 409
    assert (
        client.delete("/api/v1/incident-severities/SEV4", headers=admin.headers).status_code == 204
    )


def test_escalation_step_declares_through_the_engine_hook(
    db: Database, clock: FixedClock, make_group: Callable[[str], int]
) -> None:
    from watchkeeper.escalation import runner
    from watchkeeper.incidents import hooks

    assert hooks.on_declare_step in runner.incident_hooks, "the app registers the hook"
    gid = make_group("QueueBacklog")
    with db.write() as session:
        group = session.get(runner.AlertGroup, gid)
        assert group is not None
        for hook in runner.incident_hooks:
            hook(session, group, "SEV3", clock.now())
    with db.read() as session:
        [incident] = service.list_incidents(session)
        assert (incident.severity, incident.source) == ("SEV3", "escalation")
