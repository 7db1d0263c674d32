"""Post-incident reviews: prefilled timeline, exports, concurrent edits, action items."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import Account
from tests.incidents.conftest import declare, run_task
from watchkeeper.alerts.models import OutboxEvent
from watchkeeper.clock import FixedClock
from watchkeeper.db.engine import Database
from watchkeeper.incidents import reminders

SECTIONS = (
    "## Summary",
    "## Customer impact",
    "## Timeline",
    "## Contributing factors",
    "## What went well",
    "## Where we got lucky",
    "## What could be improved",
    "## Action items",
    "## Responders",
    "## Metrics",
)


def _run_incident(
    client: TestClient, admin: Account, clock: FixedClock, make_group: Callable[[str], int]
) -> dict[str, Any]:
    gid = make_group("CheckoutErrors")
    clock.advance(timedelta(minutes=3))
    incident = declare(client, admin, title="Checkout 5xx", severity="SEV2", group_ids=[gid])
    url = f"/api/v1/incidents/{incident['id']}"
    clock.advance(timedelta(minutes=5))
    client.post(
        f"{url}/timeline",
        json={"kind": "decision", "text": "Roll back deploy 1432", "pinned": True},
        headers=admin.headers,
    )
    client.post(f"{url}/timeline", json={"text": "unpinned chatter"}, headers=admin.headers)
    clock.advance(timedelta(minutes=7))
    client.post(f"{url}/status", json={"status": "monitoring"}, headers=admin.headers)
    clock.advance(timedelta(minutes=15))
    client.post(f"{url}/status", json={"status": "resolved"}, headers=admin.headers)
    return incident


def test_export_has_every_section_and_the_prefilled_timeline(
    client: TestClient,
    admin: Account,
    make_account: Callable[..., Account],
    clock: FixedClock,
    make_group: Callable[[str], int],
) -> None:
    owner = make_account("editor")
    incident = _run_incident(client, admin, clock, make_group)
    url = f"/api/v1/incidents/{incident['id']}/review"
    review = client.get(url, headers=admin.headers).json()
    assert review["timeline_prefilled"] is True
    assert [t["text"] for t in review["timeline"]] == [
        "Incident declared as SEV2: Checkout 5xx",
        "Roll back deploy 1432",
        "Status changed from investigating to monitoring",
        "Status changed from monitoring to resolved",
    ]
    assert review["due_at"] is not None, "SEV2 reviews are due five days after resolve"
    saved = client.patch(
        url,
        json={
            "version": review["version"],
            "summary": "A bad deploy broke checkout for 27 minutes.",
            "customer_impact": "About 4% of checkouts failed.",
            "impact_start": "2026-03-02T10:00:00Z",
            "impact_end": "2026-03-02T10:15:00Z",
            "contributing_factors": [
                {"category": "change", "description": "Deploy 1432 changed the retry policy."},
                {"category": "monitoring_gap", "description": "No alert on checkout errors."},
            ],
            "what_went_well": "Rollback took two minutes.",
            "where_we_got_lucky": "It happened at low traffic.",
            "what_could_be_improved": "Canary deploys for checkout.",
        },
        headers=admin.headers,
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["version"] == review["version"] + 1
    item = client.post(
        f"/api/v1/incidents/{incident['id']}/action-items",
        json={
            "title": "Canary deploys for checkout",
            "owner_id": owner.id,
            "priority": "P1",
            "due_date": "2026-03-20",
            "tracker_url": "https://tracker.example/OPS-12",
        },
        headers=admin.headers,
    )
    assert item.status_code == 201, item.text

    markdown = client.get(f"{url}.md", headers=admin.headers)
    assert markdown.status_code == 200
    assert markdown.headers["content-type"].startswith("text/markdown")
    text = markdown.text
    assert text.startswith(f"# Post-incident review: INC-{incident['id']} Checkout 5xx")
    positions = [text.index(section) for section in SECTIONS]
    assert positions == sorted(positions), "sections come in reading order"
    assert "| 2026-03-02 10:08 | Roll back deploy 1432 |" in text
    assert "unpinned chatter" not in text
    assert "- **Change:** Deploy 1432 changed the retry policy." in text
    assert "**Impact:** 2026-03-02 10:00 UTC to 2026-03-02 10:15 UTC (15 min)" in text
    assert "[Canary deploys for checkout](https://tracker.example/OPS-12)" in text
    assert "- Time to mitigate: 15 min" in text, "impact end is the mitigation time"
    assert "- Time to resolve: 30 min" in text

    exported = client.get(f"{url}.json", headers=admin.headers).json()
    assert exported["incident"]["id"] == incident["id"]
    assert exported["incident"]["metrics"]["ttm_seconds"] == 900
    body = exported["review"]
    assert len(body["timeline"]) == 4
    assert [f["category"] for f in body["contributing_factors"]] == ["change", "monitoring_gap"]
    assert body["action_items"][0]["owner_id"] == owner.id
    assert body["responders"][0]["user_id"] == admin.id
    assert "Incident commander" in body["responders"][0]["roles"]


def test_concurrent_review_edits_second_gets_409_and_nothing_is_lost(
    client: TestClient,
    admin: Account,
    make_account: Callable[..., Account],
    clock: FixedClock,
    make_group: Callable[[str], int],
) -> None:
    other = make_account("admin")
    incident = _run_incident(client, admin, clock, make_group)
    url = f"/api/v1/incidents/{incident['id']}/review"
    read_by_a = client.get(url, headers=admin.headers).json()
    read_by_b = client.get(url, headers=other.headers).json()
    first = client.patch(
        url,
        json={"version": read_by_a["version"], "what_went_well": "Fast rollback."},
        headers=admin.headers,
    )
    assert first.status_code == 200
    second = client.put(
        url,
        json={"version": read_by_b["version"], "summary": "B's summary"},
        headers=other.headers,
    )
    assert second.status_code == 409
    error = second.json()["error"]
    assert error["code"] == "conflict"
    assert f"you edited version {read_by_b['version']}" in error["message"]
    assert f"{admin.email} saved version {read_by_a['version'] + 1}" in error["message"]
    current = client.get(url, headers=admin.headers).json()
    assert current["what_went_well"] == "Fast rollback.", "the first edit is kept"
    assert current["summary"] == ""
    retried = client.put(
        url,
        json={
            "version": current["version"],
            "summary": "B's summary",
            "what_went_well": current["what_went_well"],
            "timeline": [{"at": "2026-03-02T10:00:00Z", "text": "Deploy 1432 went out"}],
        },
        headers=other.headers,
    )
    assert retried.status_code == 200, retried.text
    final = retried.json()
    assert (final["summary"], final["what_went_well"]) == ("B's summary", "Fast rollback.")
    assert final["timeline_prefilled"] is False
    assert [t["text"] for t in final["timeline"]] == ["Deploy 1432 went out"]
    missing_version = client.patch(url, json={"summary": "x"}, headers=admin.headers)
    assert missing_version.status_code == 422
    backwards = client.patch(
        url,
        json={
            "version": final["version"],
            "impact_start": "2026-03-02T11:00:00Z",
            "impact_end": "2026-03-02T10:00:00Z",
        },
        headers=admin.headers,
    )
    assert backwards.status_code == 422


def test_overdue_action_items_per_team_and_in_my_work(
    client: TestClient,
    admin: Account,
    make_account: Callable[..., Account],
    clock: FixedClock,
    team: dict[str, Any],
) -> None:
    owner = make_account("viewer")
    mine = declare(client, admin, team_id=team["id"])
    elsewhere = declare(client, admin)

    def add(incident: dict[str, Any], title: str, due: str, **extra: Any) -> dict[str, Any]:
        response = client.post(
            f"/api/v1/incidents/{incident['id']}/action-items",
            json={"title": title, "owner_id": owner.id, "due_date": due, **extra},
            headers=admin.headers,
        )
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    late = add(mine, "Add checkout alert", "2026-03-01", priority="P0")
    add(mine, "Write runbook", "2026-03-10")
    add(mine, "Already done", "2026-02-01", status="done")
    other_late = add(elsewhere, "Elsewhere", "2026-02-27")
    overdue = client.get(
        f"/api/v1/action-items/overdue?team_id={team['id']}", headers=admin.headers
    ).json()["items"]
    assert [i["id"] for i in overdue] == [late["id"]]
    assert overdue[0]["overdue"] is True and overdue[0]["owner_name"] == owner.email.split("@")[0]
    everywhere = client.get("/api/v1/action-items/overdue", headers=admin.headers).json()["items"]
    assert [i["id"] for i in everywhere] == [late["id"], other_late["id"]]

    my_work = client.get("/api/v1/me/action-items", headers=owner.headers).json()["items"]
    assert [i["title"] for i in my_work] == ["Elsewhere", "Add checkout alert", "Write runbook"]
    assert [i["overdue"] for i in my_work] == [True, True, False]
    # The owner (a viewer) may move their own item's status, and only that.
    done = client.patch(
        f"/api/v1/action-items/{late['id']}", json={"status": "done"}, headers=owner.headers
    )
    assert done.status_code == 200, done.text
    assert done.json()["done_at"] is not None
    retitle = client.patch(
        f"/api/v1/action-items/{late['id']}", json={"title": "x"}, headers=owner.headers
    )
    assert retitle.status_code == 403
    after = client.get(f"/api/v1/action-items/overdue?team_id={team['id']}", headers=admin.headers)
    assert after.json()["items"] == []


def test_action_item_bad_input(client: TestClient, admin: Account) -> None:
    incident = declare(client, admin)
    url = f"/api/v1/incidents/{incident['id']}/action-items"
    nobody = client.post(url, json={"title": "Fix it", "owner_id": 4242}, headers=admin.headers)
    assert nobody.status_code == 422
    assert nobody.json()["error"]["message"] == (
        "action item owner 4242 is not a user of this Watchkeeper"
    )
    empty = client.post(url, json={"title": ""}, headers=admin.headers)
    assert empty.status_code == 422
    bad = client.post(url, json={"title": "x", "priority": "P9"}, headers=admin.headers)
    assert bad.status_code == 422
    bad_url = client.post(url, json={"title": "x", "tracker_url": "ftp://x"}, headers=admin.headers)
    assert bad_url.status_code == 422
    created = client.post(url, json={"title": "x"}, headers=admin.headers).json()
    missing = client.patch(
        "/api/v1/action-items/999999", json={"status": "done"}, headers=admin.headers
    )
    assert missing.status_code == 404
    reassigned = client.patch(
        f"/api/v1/action-items/{created['id']}", json={"owner_id": 4242}, headers=admin.headers
    )
    assert reassigned.status_code == 422
    gone = client.delete(f"/api/v1/action-items/{created['id']}", headers=admin.headers)
    assert gone.status_code == 204


def test_review_reminder_to_the_commander_once(
    client: TestClient,
    admin: Account,
    clock: FixedClock,
    db: Database,
    make_group: Callable[[str], int],
) -> None:
    incident = _run_incident(client, admin, clock, make_group)  # SEV2: due in 5 days
    clock.advance(timedelta(days=4))
    assert run_task(db, reminders.review_reminders, clock.now()) == 0
    clock.advance(timedelta(days=1, minutes=1))
    assert run_task(db, reminders.review_reminders, clock.now()) == 1
    assert run_task(db, reminders.review_reminders, clock.now()) == 0
    with db.read() as session:
        [payload] = session.scalars(
            select(OutboxEvent.payload).where(OutboxEvent.topic == "incident.review_reminder")
        ).all()
    assert payload["incident_id"] == incident["id"]
    assert payload["commander_id"] == admin.id
