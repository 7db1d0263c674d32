"""401 without a token and 403 for the wrong role or team, on every incident router."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Account
from tests.incidents.conftest import declare

READS = (
    "/api/v1/incidents",
    "/api/v1/incidents/{id}",
    "/api/v1/incidents/{id}/timeline",
    "/api/v1/incidents/{id}/metrics",
    "/api/v1/incidents/{id}/review",
    "/api/v1/incidents/{id}/review.md",
    "/api/v1/incidents/{id}/review.json",
    "/api/v1/incidents/{id}/action-items",
    "/api/v1/incident-severities",
    "/api/v1/action-items/overdue",
    "/api/v1/me/action-items",
)
WRITES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("PATCH", "/api/v1/incidents/{id}", {"title": "x"}),
    ("POST", "/api/v1/incidents/{id}/status", {"status": "identified"}),
    ("POST", "/api/v1/incidents/{id}/updates", {"text": "x"}),
    ("POST", "/api/v1/incidents/{id}/alert-groups", {"group_ids": [1]}),
    ("PUT", "/api/v1/incidents/{id}/roles/commander", {"user_id": 1}),
    ("POST", "/api/v1/incidents/{id}/timeline", {"text": "x"}),
    ("PATCH", "/api/v1/incidents/{id}/review", {"version": 1, "summary": "x"}),
    ("POST", "/api/v1/incidents/{id}/action-items", {"title": "x"}),
)


@pytest.fixture
def incident(client: TestClient, admin: Account, team: dict[str, Any]) -> dict[str, Any]:
    return declare(client, admin, team_id=team["id"])


def test_no_token_is_401(client: TestClient, incident: dict[str, Any]) -> None:
    for path in READS:
        response = client.get(path.format(id=incident["id"]))
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == "unauthorized"
    for method, path, body in WRITES:
        response = client.request(method, path.format(id=incident["id"]), json=body)
        assert response.status_code == 401, path
    assert client.post("/api/v1/incidents", json={"title": "x"}).status_code == 401


def test_viewers_read_but_do_not_change(
    client: TestClient, make_account: Callable[..., Account], incident: dict[str, Any]
) -> None:
    viewer = make_account("viewer")
    for path in READS:
        assert client.get(path.format(id=incident["id"]), headers=viewer.headers).status_code == 200
    for method, path, body in WRITES:
        response = client.request(
            method, path.format(id=incident["id"]), json=body, headers=viewer.headers
        )
        assert response.status_code == 403, path
        assert "editor role" in response.json()["error"]["message"]
    declared = client.post("/api/v1/incidents", json={"title": "x"}, headers=viewer.headers)
    assert declared.status_code == 403
    severity = client.put(
        "/api/v1/incident-severities/SEV9", json={"rank": 9}, headers=viewer.headers
    )
    assert severity.status_code == 403


def test_editors_change_only_their_teams_incidents(
    client: TestClient,
    admin: Account,
    make_account: Callable[..., Account],
    incident: dict[str, Any],
    team: dict[str, Any],
) -> None:
    outsider, member = make_account("editor"), make_account("editor", teams=(team["id"],))
    for method, path, body in WRITES:
        response = client.request(
            method, path.format(id=incident["id"]), json=body, headers=outsider.headers
        )
        assert response.status_code == 403, path
        assert f"not a member of team {team['id']}" in response.json()["error"]["message"]
    ok = client.post(
        f"/api/v1/incidents/{incident['id']}/timeline", json={"text": "x"}, headers=member.headers
    )
    assert ok.status_code == 201
    # Any editor changes an incident that belongs to no team, and may declare one.
    teamless = declare(client, outsider)
    assert (
        client.patch(
            f"/api/v1/incidents/{teamless['id']}", json={"summary": "s"}, headers=outsider.headers
        ).status_code
        == 200
    )
    other_team = client.post(
        "/api/v1/incidents", json={"title": "x", "team_id": team["id"]}, headers=outsider.headers
    )
    assert other_team.status_code == 403
    moved = client.patch(
        f"/api/v1/incidents/{teamless['id']}",
        json={"team_id": team["id"]},
        headers=outsider.headers,
    )
    assert moved.status_code == 403
    editor_severity = client.delete("/api/v1/incident-severities/SEV4", headers=member.headers)
    assert editor_severity.status_code == 403
