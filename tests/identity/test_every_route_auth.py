"""Every /api/v1 route refuses a missing token (401), and writes refuse a viewer (403)."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import Account
from watchkeeper.api.deps import VIEWER_WRITES

VIEWER_MAY = VIEWER_WRITES


def _api_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every documented /api/v1 operation (the OpenAPI schema lists them all)."""
    out = []
    for path, operations in app.openapi()["paths"].items():
        if path.startswith("/api/v1"):
            out.extend((method.upper(), path) for method in sorted(operations))
    return out


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_api_route_needs_a_token(app: FastAPI, client: TestClient) -> None:
    routes = _api_routes(app)
    assert len(routes) > 60
    for method, path in routes:
        response = client.request(method, _fill(path), json={})
        assert response.status_code == 401, f"{method} {path} answered {response.status_code}"
        assert response.json()["error"]["code"] == "unauthorized"


def test_viewer_cannot_write_anywhere(
    app: FastAPI, client: TestClient, admin: Account, make_account: Callable[..., Account]
) -> None:
    viewer = make_account("viewer")
    # Objects with id 1 exist where it matters, so a 403 is not hidden by a 404.
    team = client.post("/api/v1/teams", json={"name": "t"}, headers=admin.headers).json()
    client.post(
        "/api/v1/integrations",
        json={"name": "i", "kind": "webhook", "team_id": team["id"]},
        headers=admin.headers,
    )
    allowed_answers = {403}
    writes = [(m, p) for m, p in _api_routes(app) if m in ("POST", "PUT", "PATCH", "DELETE")]
    forbidden = 0
    for method, path in writes:
        if (method, path) in VIEWER_MAY:
            continue
        response = client.request(method, _fill(path), json={}, headers=viewer.headers)
        assert response.status_code in allowed_answers, (
            f"viewer {method} {path} answered {response.status_code}: {response.text[:200]}"
        )
        assert response.status_code < 500
        forbidden += response.status_code == 403
    assert forbidden == len([w for w in writes if w not in VIEWER_MAY])
