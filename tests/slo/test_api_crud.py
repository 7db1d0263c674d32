"""SLO API: CRUD, roles, and bad input answered with 422 naming the field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Account
from tests.slo.api_helpers import TOTAL, create_slo, make_team, slo_body


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/slos"),
        ("POST", "/api/v1/slos"),
        ("POST", "/api/v1/slos/import"),
        ("POST", "/api/v1/slos/learn"),
        ("GET", "/api/v1/slos/1"),
        ("PATCH", "/api/v1/slos/1"),
        ("DELETE", "/api/v1/slos/1"),
        ("GET", "/api/v1/slos/1/status"),
        ("GET", "/api/v1/slos/1/history"),
    ],
)
def test_every_route_needs_a_token(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path, json={})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_crud(client: TestClient, admin: Account) -> None:
    team_id = make_team(client, admin)
    created = create_slo(
        client,
        admin,
        slo_body(
            team_id,
            evaluation={
                "enabled": True,
                "prometheus_url": "http://prometheus.internal:9090",
                "bearer_token": "s3cret",
            },
        ),
    )
    assert created["team"] == "payments"
    assert created["alert_name"] == "CheckoutRequestsAvailabilityErrorBudgetBurn"
    assert [(t["route"], t["long_window"], t["short_window"]) for t in created["tiers"]] == [
        ("page", "1h", "5m"),
        ("page", "6h", "30m"),
        ("ticket", "1d", "2h"),
        ("ticket", "3d", "6h"),
    ]
    assert created["tiers"][0]["budget_consumed"] == pytest.approx(0.02)
    assert created["evaluation"] == {
        "enabled": True,
        "prometheus_url": "http://prometheus.internal:9090",
        "auth": "bearer",
        "no_data_alert": False,
    }
    assert "s3cret" not in str(created)
    sid = created["id"]
    listed = client.get("/api/v1/slos?service=checkout", headers=admin.headers).json()["items"]
    assert [s["id"] for s in listed] == [sid]
    assert client.get("/api/v1/slos?service=other", headers=admin.headers).json()["items"] == []
    patched = client.patch(
        f"/api/v1/slos/{sid}",
        json={"objective": 99.5, "evaluation": {"bearer_token": "", "enabled": False}},
        headers=admin.headers,
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["objective"] == 99.5
    assert body["evaluation"]["auth"] is None and body["evaluation"]["enabled"] is False
    assert body["sli"]["ratio"]["total_query"] == TOTAL  # untouched fields are kept
    assert client.get(f"/api/v1/slos/{sid}", headers=admin.headers).json()["objective"] == 99.5
    duplicate = client.post("/api/v1/slos", json=slo_body(team_id), headers=admin.headers)
    assert duplicate.status_code == 409
    assert client.delete(f"/api/v1/slos/{sid}", headers=admin.headers).status_code == 204
    assert client.get(f"/api/v1/slos/{sid}", headers=admin.headers).status_code == 404
    audit = client.get("/api/v1/audit-log?object_type=slo", headers=admin.headers).json()
    assert [e["action"] for e in audit["items"]] == ["slo.delete", "slo.update", "slo.create"]


def test_roles(client: TestClient, admin: Account, make_account: Callable[..., Account]) -> None:
    team_id = make_team(client, admin)
    other_team = make_team(client, admin, "search")
    viewer = make_account("viewer", teams=(team_id,))
    outsider = make_account("editor", teams=(other_team,))
    editor = make_account("editor", teams=(team_id,))
    body = slo_body(team_id)
    assert client.post("/api/v1/slos", json=body, headers=viewer.headers).status_code == 403
    assert client.post("/api/v1/slos", json=body, headers=outsider.headers).status_code == 403
    sid = create_slo(client, editor, body)["id"]
    for account in (viewer, outsider):
        assert client.get(f"/api/v1/slos/{sid}", headers=account.headers).status_code == 200
        assert client.get(f"/api/v1/slos/{sid}/status", headers=account.headers).status_code == 200
        patch = client.patch(f"/api/v1/slos/{sid}", json={"objective": 99}, headers=account.headers)
        assert patch.status_code == 403
        assert client.delete(f"/api/v1/slos/{sid}", headers=account.headers).status_code == 403
    move = client.patch(f"/api/v1/slos/{sid}", json={"team_id": other_team}, headers=editor.headers)
    assert move.status_code == 403  # not a member of the target team
    assert client.delete(f"/api/v1/slos/{sid}", headers=editor.headers).status_code == 204


def _error(response: Any) -> str:
    assert response.status_code == 422, response.text
    message: str = response.json()["error"]["message"]
    return message


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"objective": 100}, "objective: objective must be a percentage strictly between 0"),
        ({"objective": 0}, "objective: objective must be a percentage strictly between 0"),
        (
            {
                "period": "1d",
                "alerting": {
                    "windows": [{"route": "page", "factor": 2, "long": "2d", "short": "1h"}]
                },
            },
            "period: period 1d is shorter than the longest alert window 2d",
        ),
        ({"period": "36h"}, "period: period '36h' must be whole days"),
        (
            {"sli": {"ratio": {"error_query": "sum(rate(errors[5m]))", "total_query": TOTAL}}},
            "sli.ratio.error_query: error_query has no {{.window}} placeholder",
        ),
        ({"alerting": {"page_factors": [1500, 6]}}, "alerting: page factor 1500"),
        ({"name": "no spaces"}, "name: 'no spaces' must start with a letter or digit"),
        ({"team_id": 999}, "team_id: team 999 does not exist"),
        (
            {"evaluation": {"enabled": True}},
            "evaluation.prometheus_url: native evaluation needs a Prometheus URL",
        ),
        (
            {"evaluation": {"prometheus_url": "http://169.254.169.254/"}},
            "evaluation.prometheus_url:",
        ),
        ({"evaluation": {"basic_auth": "nocolon"}}, "evaluation.basic_auth: basic auth must"),
    ],
)
def test_bad_input_names_the_field(
    client: TestClient, admin: Account, overrides: dict[str, Any], expected: str
) -> None:
    body = slo_body(make_team(client, admin))
    body.update(overrides)
    response = client.post("/api/v1/slos", json=body, headers=admin.headers)
    assert expected in _error(response)


def test_bad_patch_is_rejected_and_changes_nothing(client: TestClient, admin: Account) -> None:
    team_id = make_team(client, admin)
    sid = create_slo(client, admin, slo_body(team_id))["id"]
    response = client.patch(f"/api/v1/slos/{sid}", json={"period": "2h"}, headers=admin.headers)
    assert "period:" in _error(response)
    assert client.get(f"/api/v1/slos/{sid}", headers=admin.headers).json()["period"] == "30d"


def test_missing_required_fields_are_422(client: TestClient, admin: Account) -> None:
    team_id = make_team(client, admin)
    body = slo_body(team_id)
    del body["sli"]
    response = client.post("/api/v1/slos", json=body, headers=admin.headers)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "sli"
