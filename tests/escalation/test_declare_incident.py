"""End to end: a declare_incident step opens an incident that follows its alert group."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient

from tests.alerts.conftest import am_alert, am_webhook, ingest_path
from tests.conftest import Account
from watchkeeper.clock import FixedClock
from watchkeeper.db.engine import Database
from watchkeeper.escalation.engine import Engine
from watchkeeper.incidents import feed


def test_escalation_declares_incident_that_follows_the_group(
    client: TestClient,
    admin: Account,
    make_account: Callable[..., Account],
    engine: Engine,
    db: Database,
    clock: FixedClock,
) -> None:
    team = client.post("/api/v1/teams", json={"name": "ops"}, headers=admin.headers).json()
    chain = client.post(
        "/api/v1/escalation-chains",
        json={
            "name": "sev",
            "team_id": team["id"],
            "steps": [{"type": "declare_incident", "severity": "SEV2"}],
        },
        headers=admin.headers,
    )
    assert chain.status_code == 201, chain.text
    integration = client.post(
        "/api/v1/integrations",
        json={"name": "am", "kind": "alertmanager", "team_id": team["id"]},
        headers=admin.headers,
    ).json()
    client.post(
        f"/api/v1/integrations/{integration['id']}/routes",
        json={"escalation_chain_id": chain.json()["id"]},
        headers=admin.headers,
    ).raise_for_status()
    client.post(ingest_path(integration), json=am_webhook("k", [am_alert("CheckoutDown")]))
    engine.drain(clock.now())

    incidents = client.get("/api/v1/incidents", headers=admin.headers).json()["items"]
    assert len(incidents) == 1
    incident = client.get(f"/api/v1/incidents/{incidents[0]['id']}", headers=admin.headers).json()
    assert incident["severity"] == "SEV2"
    group_id = client.get("/api/v1/alert-groups", headers=admin.headers).json()["items"][0]["id"]
    assert [g["id"] for g in incident["alert_groups"]] == [group_id]

    clock.advance(timedelta(minutes=2))
    client.post(f"/api/v1/alert-groups/{group_id}/acknowledge", headers=admin.headers)
    clock.advance(timedelta(minutes=2))
    client.post(f"/api/v1/alert-groups/{group_id}/resolve", headers=admin.headers)
    clock.advance(timedelta(minutes=5))
    with db.write() as session:
        feed.consume(session, clock.now())
    timeline = client.get(
        f"/api/v1/incidents/{incidents[0]['id']}/timeline", headers=admin.headers
    ).json()
    entries = timeline["items"] if isinstance(timeline, dict) else timeline
    texts = " | ".join(entry["text"] for entry in entries)
    assert "acknowledged" in texts
    assert "resolved" in texts

    export = client.get(f"/api/v1/incidents/{incidents[0]['id']}/review.md", headers=admin.headers)
    assert export.status_code == 200
    for section in (
        "Summary",
        "Customer impact",
        "Timeline",
        "Contributing factors",
        "What went well",
        "Where we got lucky",
        "What could be improved",
        "Action items",
    ):
        assert section in export.text
