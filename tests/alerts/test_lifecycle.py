"""Alert group lifecycle actions, permissions, filters and pagination."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.alerts.conftest import am_alert, am_webhook, groups, ingest_path
from tests.conftest import Account
from watchkeeper.alerts import housekeeping
from watchkeeper.alerts.models import Alert, AlertGroup, GroupEvent, OutboxEvent, RawPayload
from watchkeeper.clock import FixedClock
from watchkeeper.db.engine import Database
from watchkeeper.worker import Backlog


def _fire(client: TestClient, integration: dict[str, Any], key: str, name: str = "A") -> None:
    response = client.post(ingest_path(integration), json=am_webhook(key, [am_alert(name, x=key)]))
    assert response.status_code == 202


def _act(client: TestClient, account: Account, group_id: int, action: str, **body: Any) -> Any:
    return client.post(
        f"/api/v1/alert-groups/{group_id}/{action}", json=body or None, headers=account.headers
    )


def test_ack_unack_resolve_unresolve(
    client: TestClient, admin: Account, make_integration: Callable[..., dict[str, Any]]
) -> None:
    integration = make_integration("alertmanager")
    _fire(client, integration, "k")
    [group] = groups(client, admin)
    gid = group["id"]
    acked = _act(client, admin, gid, "acknowledge")
    assert acked.status_code == 200
    assert acked.json()["status"] == "acknowledged"
    assert acked.json()["acknowledged_by"] == "admin@example.com"
    assert _act(client, admin, gid, "acknowledge").status_code == 200  # idempotent
    assert _act(client, admin, gid, "unacknowledge").json()["status"] == "firing"
    assert _act(client, admin, gid, "unacknowledge").status_code == 409
    resolved = _act(client, admin, gid, "resolve")
    assert resolved.json()["status"] == "resolved"
    assert _act(client, admin, gid, "acknowledge").status_code == 409
    assert _act(client, admin, gid, "unresolve").json()["status"] == "firing"
    # The reopened group is the open one for its key again: a repeat joins it.
    _fire(client, integration, "k")
    assert len(groups(client, admin)) == 1
    timeline = client.get(f"/api/v1/alert-groups/{gid}", headers=admin.headers).json()["timeline"]
    kinds = [e["kind"] for e in timeline]
    assert kinds == ["created", "acknowledged", "unacknowledged", "resolved", "unresolved"]
    assert all(e["actor_name"] for e in timeline)


def test_unresolve_conflicts_with_newer_open_group(
    client: TestClient, admin: Account, make_integration: Callable[..., dict[str, Any]]
) -> None:
    integration = make_integration("alertmanager")
    _fire(client, integration, "k")
    old = groups(client, admin)[0]["id"]
    _act(client, admin, old, "resolve")
    _fire(client, integration, "k")
    response = _act(client, admin, old, "unresolve")
    assert response.status_code == 409
    assert "merge" in response.json()["error"]["message"]


def test_silence_and_expiry(
    client: TestClient,
    admin: Account,
    make_integration: Callable[..., dict[str, Any]],
    clock: FixedClock,
    db: Database,
) -> None:
    integration = make_integration("alertmanager")
    _fire(client, integration, "k")
    gid = groups(client, admin)[0]["id"]
    silenced = _act(client, admin, gid, "silence", minutes=30)
    assert silenced.json()["status"] == "silenced"
    assert groups(client, admin, status="silenced")[0]["id"] == gid
    past = _act(
        client, admin, gid, "silence", until=(clock.now() - timedelta(minutes=1)).isoformat()
    )
    assert past.status_code == 422
    clock.advance(timedelta(minutes=31))
    with db.write() as session:
        assert housekeeping.expire_silences(session, clock.now()) == 1
    assert groups(client, admin)[0]["status"] == "firing"


def test_merge_moves_alerts(
    client: TestClient, admin: Account, make_integration: Callable[..., dict[str, Any]]
) -> None:
    integration = make_integration("alertmanager")
    _fire(client, integration, "k1", "A")
    _fire(client, integration, "k2", "B")
    newer, older = groups(client, admin)
    merged = _act(client, admin, newer["id"], "merge", into_id=older["id"])
    assert merged.status_code == 200
    assert merged.json()["alerts_count"] == 2
    source = client.get(f"/api/v1/alert-groups/{newer['id']}", headers=admin.headers).json()
    assert source["merged_into_id"] == older["id"]
    assert source["status"] == "resolved"
    assert _act(client, admin, older["id"], "merge", into_id=older["id"]).status_code == 422


def test_deleting_an_integration_deletes_its_alerts_and_what_its_groups_absorbed(
    client: TestClient,
    admin: Account,
    db: Database,
    make_integration: Callable[..., dict[str, Any]],
) -> None:
    # Merges cross integrations both ways: one of its alerts merged into another
    # integration's group goes with it, and so does another integration's alert
    # merged into one of its groups (alerts have no foreign key to their group,
    # for ingest speed, so no cascade does it). No alert is left without a group.
    kept = make_integration("alertmanager", name="kept")
    gone = make_integration("alertmanager", name="gone")
    fired = ((kept, "k1", "A"), (kept, "k2", "K"), (gone, "k3", "B"), (gone, "k4", "G"))
    for integration, key, name in fired:
        _fire(client, integration, key, name)
    by_title = {g["title"]: g["id"] for g in groups(client, admin)}
    for source, target in (("B", "A"), ("K", "G")):
        merged = _act(
            client,
            admin,
            by_title[f"{source} is broken"],
            "merge",
            into_id=by_title[f"{target} is broken"],
        )
        assert merged.status_code == 200
        assert merged.json()["alerts_count"] == 2
    response = client.delete(f"/api/v1/integrations/{gone['id']}", headers=admin.headers)
    assert response.status_code == 204
    with db.read() as session:
        left = session.execute(select(Alert.integration_id, Alert.title)).all()
        orphans = session.scalar(
            select(func.count())
            .select_from(Alert)
            .where(Alert.group_id.not_in(select(AlertGroup.id)))
        )
    assert [tuple(row) for row in left] == [(kept["id"], "A is broken")]
    assert orphans == 0
    # The kept integration's groups stay, the one merged away now empty.
    assert sorted(g["title"] for g in groups(client, admin)) == ["A is broken", "K is broken"]
    # Its groups (with their timelines) and payloads went too: no foreign key
    # to the integration deletes them (see AlertGroup, 0014).
    with db.read() as session:
        group_integrations = set(session.scalars(select(AlertGroup.integration_id)))
        payload_integrations = set(session.scalars(select(RawPayload.integration_id)))
        timelines = set(session.scalars(select(GroupEvent.group_id)))
        group_ids = set(session.scalars(select(AlertGroup.id)))
    assert group_integrations == payload_integrations == {kept["id"]}
    assert timelines <= group_ids


def test_auto_resolve_after_quiet(
    client: TestClient,
    admin: Account,
    make_integration: Callable[..., dict[str, Any]],
    clock: FixedClock,
    db: Database,
) -> None:
    integration = make_integration("webhook", options={"auto_resolve_minutes": 10})
    client.post(ingest_path(integration), json={"title": "x"})
    clock.advance(timedelta(minutes=11))
    with db.write() as session:
        assert housekeeping.auto_resolve(session, clock.now()) == 1
    assert groups(client, admin)[0]["status"] == "resolved"


def test_reopen_within_window(
    client: TestClient,
    admin: Account,
    make_integration: Callable[..., dict[str, Any]],
    clock: FixedClock,
) -> None:
    integration = make_integration("alertmanager", options={"reopen_within_minutes": 15})
    _fire(client, integration, "k")
    gid = groups(client, admin)[0]["id"]
    _act(client, admin, gid, "resolve")
    clock.advance(timedelta(minutes=5))
    _fire(client, integration, "k")
    listed = groups(client, admin)
    assert [g["id"] for g in listed] == [gid]
    assert listed[0]["status"] == "firing"


def test_viewer_cannot_act_editor_of_other_team_cannot(
    client: TestClient,
    admin: Account,
    make_integration: Callable[..., dict[str, Any]],
    make_account: Callable[..., Account],
) -> None:
    integration = make_integration("alertmanager")
    _fire(client, integration, "k")
    gid = groups(client, admin)[0]["id"]
    viewer = make_account("viewer")
    assert _act(client, viewer, gid, "acknowledge").status_code == 403
    outsider = make_account("editor")
    assert _act(client, outsider, gid, "acknowledge").status_code == 403
    member = make_account("editor", teams=(integration["team_id"],))
    assert _act(client, member, gid, "acknowledge").status_code == 200
    assert (
        client.post(
            "/api/v1/integrations",
            json={"name": "x", "kind": "webhook", "team_id": integration["team_id"]},
            headers=viewer.headers,
        ).status_code
        == 403
    )
    assert client.get("/api/v1/alert-groups", headers=viewer.headers).status_code == 200
    assert client.get("/api/v1/alert-groups").status_code == 401


def test_filters_and_cursor_pagination(
    client: TestClient, admin: Account, make_integration: Callable[..., dict[str, Any]]
) -> None:
    integration = make_integration("alertmanager")
    other = make_integration("webhook")
    for i in range(7):
        _fire(client, integration, f"k{i}", "Paged")
    client.post(ingest_path(other), json={"title": "w"})
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, "integration_id": integration["id"]}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/v1/alert-groups", params=params, headers=admin.headers).json()
        seen += [g["id"] for g in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 7
    assert seen == sorted(seen, reverse=True)
    by_label = groups(client, admin, label="x=k3")
    assert len(by_label) == 1
    assert by_label[0]["labels"]["x"] == "k3"
    assert (
        client.get(
            "/api/v1/alert-groups", params={"cursor": "garbage!"}, headers=admin.headers
        ).status_code
        == 400
    )
    assert (
        client.get(
            "/api/v1/alert-groups", params={"status": "weird"}, headers=admin.headers
        ).status_code
        == 422
    )
    assert (
        client.get(
            "/api/v1/alert-groups", params={"label": "nolabel"}, headers=admin.headers
        ).status_code
        == 400
    )
    assert client.get("/api/v1/alert-groups/99999", headers=admin.headers).status_code == 404


def test_prune_removes_only_what_is_past_retention_batch_by_batch(
    client: TestClient,
    admin: Account,
    make_integration: Callable[..., dict[str, Any]],
    clock: FixedClock,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    integration = make_integration("alertmanager")
    for key, name in (("k1", "A"), ("k2", "B"), ("k3", "C")):
        _fire(client, integration, key, name)
    by_title = {g["title"]: g for g in groups(client, admin)}
    target, source = by_title["A is broken"]["id"], by_title["B is broken"]["id"]
    assert _act(client, admin, source, "merge", into_id=target).status_code == 200
    assert _act(client, admin, target, "resolve").status_code == 200  # "C" stays open
    clock.advance(timedelta(days=31))
    _fire(client, integration, "k4", "D")
    young = next(g["id"] for g in groups(client, admin) if g["title"] == "D is broken")
    assert _act(client, admin, young, "resolve").status_code == 200
    cutoff = clock.now() - timedelta(days=30)
    monkeypatch.setattr(housekeeping, "BATCH", 2)
    runs = []
    for _ in range(50):
        with db.write() as session:
            runs.append(housekeeping.prune(session, clock.now(), retention_days=30))
        if not isinstance(runs[-1], Backlog):
            break
    assert isinstance(runs[0], Backlog)  # more than one batch was waiting
    assert not isinstance(runs[-1], Backlog)
    # Old resolved groups went (the merged one and the group it was merged
    # into), with their alerts; an old open group and a young resolved one stay.
    assert sorted(g["title"] for g in groups(client, admin)) == ["C is broken", "D is broken"]
    with db.read() as session:
        alerts = session.scalars(select(Alert.title).order_by(Alert.title)).all()
        payload_times = session.scalars(select(RawPayload.received_at)).all()
        event_times = session.scalars(select(OutboxEvent.at)).all()
    assert alerts == ["C is broken", "D is broken"]
    assert payload_times and all(at >= cutoff for at in payload_times)
    assert event_times and all(at >= cutoff for at in event_times)


def test_a_new_group_is_one_created_event_and_alerts_joining_it_later_are_news(
    client: TestClient,
    admin: Account,
    make_integration: Callable[..., dict[str, Any]],
    db: Database,
) -> None:
    integration = make_integration("alertmanager")
    two = am_webhook("k", [am_alert("A", x="1"), am_alert("A", x="2")])
    assert client.post(ingest_path(integration), json=two).status_code == 202
    [group] = groups(client, admin)
    # Its first alerts came with it: group.created says so, with no
    # alert_added beside it for the engine and feeds to read past.
    assert _outbox(db) == [("group.created", group["id"], None)]
    three = am_webhook("k", [am_alert("A", x="1"), am_alert("A", x="2"), am_alert("A", x="3")])
    assert client.post(ingest_path(integration), json=three).status_code == 202
    assert _outbox(db)[1:] == [("group.alert_added", group["id"], 1)]


def _outbox(db: Database) -> list[tuple[str, int | None, Any]]:
    with db.read() as session:
        rows = session.execute(
            select(OutboxEvent.topic, OutboxEvent.group_id, OutboxEvent.payload)
            .where(OutboxEvent.topic.startswith("group."))
            .order_by(OutboxEvent.id)
        ).all()
    return [(topic, gid, (payload or {}).get("new_alerts")) for topic, gid, payload in rows]
