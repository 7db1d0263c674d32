"""Identity API: auth, roles, errors, tokens."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import Account
from watchkeeper.db.engine import Database
from watchkeeper.identity.credentials import hash_token
from watchkeeper.identity.models import ApiToken, AuditEntry


def test_me_returns_token_owner(client: TestClient, admin: Account) -> None:
    response = client.get("/api/v1/me", headers=admin.headers)
    assert response.status_code == 200
    assert response.json()["email"] == "admin@example.com"
    assert response.json()["role"] == "admin"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/me"),
        ("GET", "/api/v1/users"),
        ("POST", "/api/v1/users"),
        ("GET", "/api/v1/teams"),
        ("POST", "/api/v1/teams"),
        ("GET", "/api/v1/tokens"),
        ("GET", "/api/v1/audit-log"),
    ],
)
def test_every_route_needs_a_token(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path, json={})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    bad = client.request(method, path, json={}, headers={"Authorization": "Bearer wk_nope"})
    assert bad.status_code == 401


def test_revoked_token_gets_401(client: TestClient, admin: Account) -> None:
    created = client.post("/api/v1/tokens", json={"name": "ci"}, headers=admin.headers)
    assert created.status_code == 201
    token = created.json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    revoked = client.delete(f"/api/v1/tokens/{created.json()['id']}", headers=admin.headers)
    assert revoked.status_code == 204
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]


def test_tokens_are_stored_hashed(client: TestClient, admin: Account, db: Database) -> None:
    created = client.post("/api/v1/tokens", json={"name": "x"}, headers=admin.headers).json()
    with db.read() as session:
        rows = session.scalars(select(ApiToken)).all()
        stored = [(r.token_hash, r.prefix) for r in rows]
    assert all(created["token"] != h for h, _ in stored)
    assert hash_token(created["token"]) in {h for h, _ in stored}
    # The listing never shows the secret again.
    listing = client.get("/api/v1/tokens", headers=admin.headers).json()["items"]
    assert all("token" not in item for item in listing)


def test_token_last_used_is_recorded(client: TestClient, admin: Account, db: Database) -> None:
    client.get("/api/v1/me", headers=admin.headers)
    with db.read() as session:
        token = session.scalar(
            select(ApiToken).where(ApiToken.token_hash == hash_token(admin.token))
        )
        assert token is not None and token.last_used_at is not None


def test_viewer_reads_but_cannot_write(
    client: TestClient, make_account: Callable[..., Account]
) -> None:
    viewer = make_account("viewer")
    assert client.get("/api/v1/users", headers=viewer.headers).status_code == 200
    assert client.get("/api/v1/teams", headers=viewer.headers).status_code == 200
    denied = client.post("/api/v1/teams", json={"name": "ops"}, headers=viewer.headers)
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "forbidden"
    denied = client.post(
        "/api/v1/users", json={"email": "x@y.z", "name": "X"}, headers=viewer.headers
    )
    assert denied.status_code == 403
    assert client.get("/api/v1/audit-log", headers=viewer.headers).status_code == 403


def test_editor_changes_only_own_teams(
    client: TestClient, admin: Account, make_account: Callable[..., Account]
) -> None:
    mine = client.post("/api/v1/teams", json={"name": "mine"}, headers=admin.headers).json()
    other = client.post("/api/v1/teams", json={"name": "other"}, headers=admin.headers).json()
    editor = make_account("editor", teams=(mine["id"],))
    ok = client.patch(
        f"/api/v1/teams/{mine['id']}", json={"description": "ours"}, headers=editor.headers
    )
    assert ok.status_code == 200
    assert ok.json()["description"] == "ours"
    denied = client.patch(
        f"/api/v1/teams/{other['id']}", json={"description": "x"}, headers=editor.headers
    )
    assert denied.status_code == 403
    assert "not a member" in denied.json()["error"]["message"]
    # Editors cannot create teams or delete them.
    assert (
        client.post("/api/v1/teams", json={"name": "n"}, headers=editor.headers).status_code == 403
    )
    assert client.delete(f"/api/v1/teams/{mine['id']}", headers=editor.headers).status_code == 403


def test_team_crud_and_members(
    client: TestClient, admin: Account, make_account: Callable[..., Account]
) -> None:
    member = make_account("editor")
    team = client.post(
        "/api/v1/teams", json={"name": "platform", "description": "p"}, headers=admin.headers
    )
    assert team.status_code == 201
    team_id = team.json()["id"]
    added = client.post(
        f"/api/v1/teams/{team_id}/members", json={"user_id": member.id}, headers=admin.headers
    )
    assert added.status_code == 201
    assert added.json()["member_ids"] == [member.id]
    again = client.post(
        f"/api/v1/teams/{team_id}/members", json={"user_id": member.id}, headers=admin.headers
    )
    assert again.status_code == 409
    me = client.get("/api/v1/me", headers=member.headers).json()
    assert me["team_ids"] == [team_id]
    removed = client.delete(f"/api/v1/teams/{team_id}/members/{member.id}", headers=admin.headers)
    assert removed.status_code == 204
    assert client.get(f"/api/v1/teams/{team_id}", headers=admin.headers).json()["member_ids"] == []
    assert client.delete(f"/api/v1/teams/{team_id}", headers=admin.headers).status_code == 204
    missing = client.get(f"/api/v1/teams/{team_id}", headers=admin.headers)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_duplicate_email_is_409(client: TestClient, admin: Account) -> None:
    body = {"email": "dup@example.com", "name": "Dup"}
    assert client.post("/api/v1/users", json=body, headers=admin.headers).status_code == 201
    body["email"] = "DUP@example.com"
    response = client.post("/api/v1/users", json=body, headers=admin.headers)
    assert response.status_code == 409
    assert "dup@example.com" in response.json()["error"]["message"]


def test_bad_input_gets_clear_4xx(client: TestClient, admin: Account) -> None:
    malformed = client.post(
        "/api/v1/teams",
        content=b"{not json",
        headers={**admin.headers, "content-type": "application/json"},
    )
    assert malformed.status_code == 400
    assert "not valid JSON" in malformed.json()["error"]["message"]
    invalid = client.post(
        "/api/v1/users",
        json={"email": "nope", "name": "N", "time_zone": "Mars/Base"},
        headers=admin.headers,
    )
    assert invalid.status_code == 422
    error = invalid.json()["error"]
    fields = {d["field"] for d in error["details"]}
    assert fields == {"email", "time_zone"}
    assert "Mars/Base" in error["message"]
    unknown = client.get("/api/v1/nothing-here", headers=admin.headers)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "not_found"
    wrong_type = client.get("/api/v1/users/abc", headers=admin.headers)
    assert wrong_type.status_code == 422
    assert wrong_type.json()["error"]["details"][0]["field"] == "path.user_id"


def test_changes_are_audited(client: TestClient, admin: Account, db: Database) -> None:
    client.post("/api/v1/teams", json={"name": "audited"}, headers=admin.headers)
    log = client.get("/api/v1/audit-log", headers=admin.headers).json()["items"]
    entry = next(e for e in log if e["action"] == "team.create")
    assert entry["actor_name"] == "admin@example.com"
    assert entry["details"] == {"name": "audited"}
    with db.read() as session:
        assert session.scalar(select(AuditEntry).where(AuditEntry.action == "team.create"))


def test_user_edits_own_profile_but_not_role(
    client: TestClient, make_account: Callable[..., Account]
) -> None:
    viewer = make_account("viewer")
    ok = client.patch(
        f"/api/v1/users/{viewer.id}", json={"time_zone": "Europe/Berlin"}, headers=viewer.headers
    )
    assert ok.status_code == 200
    assert ok.json()["time_zone"] == "Europe/Berlin"
    escalate = client.patch(
        f"/api/v1/users/{viewer.id}", json={"role": "admin"}, headers=viewer.headers
    )
    assert escalate.status_code == 403


def test_healthz_metrics_openapi(client: TestClient, admin: Account) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    client.get("/api/v1/me", headers=admin.headers)
    metrics = client.get("/metrics").text
    assert (
        'watchkeeper_http_requests_total{method="GET",route="/api/v1/me",status="200"}' in metrics
    )
    schema = client.get("/openapi.json").json()
    assert "/api/v1/teams" in schema["paths"]
