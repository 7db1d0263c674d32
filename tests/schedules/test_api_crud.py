"""Schedules API: CRUD of schedules, layers, rotations and overrides; roles; bad input."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.conftest import T0, Account
from tests.schedules.helpers import add_rotation_layer, create_schedule, iso

ROTATION = {"user_ids": [], "start": "2026-03-02T09:00:00Z", "shift_unit": "days"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/schedules"),
        ("POST", "/api/v1/schedules"),
        ("GET", "/api/v1/schedules/1"),
        ("PATCH", "/api/v1/schedules/1"),
        ("DELETE", "/api/v1/schedules/1"),
        ("POST", "/api/v1/schedules/1/layers"),
        ("POST", "/api/v1/schedules/1/overrides"),
        ("GET", "/api/v1/schedules/1/oncall"),
        ("GET", "/api/v1/schedules/1/shifts"),
        ("GET", "/api/v1/schedules/1/quality"),
        ("PUT", "/api/v1/schedules/1/ical"),
        ("PUT", "/api/v1/schedules/1/ical/overrides/url"),
        ("POST", "/api/v1/schedules/1/swaps"),
        ("GET", "/api/v1/schedules/1/ical-export"),
        ("GET", "/api/v1/me/shifts-feed"),
    ],
)
def test_every_route_needs_a_token(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path, json={})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_schedule_crud(client: TestClient, admin: Account, team_id: int) -> None:
    created = create_schedule(client, admin, "Platform primary", time_zone="Europe/Berlin")
    assert created["id"] > 0
    assert created["time_zone"] == "Europe/Berlin"
    assert created["layers"] == [] and created["warnings"] == []
    sid = created["id"]
    listed = client.get("/api/v1/schedules", headers=admin.headers).json()["items"]
    assert [s["name"] for s in listed] == ["Platform primary"]
    patched = client.patch(
        f"/api/v1/schedules/{sid}",
        json={"name": "Platform", "team_id": team_id},
        headers=admin.headers,
    )
    assert patched.status_code == 200
    assert patched.json()["team_id"] == team_id
    assert patched.json()["version"] > created["version"]
    dup = client.post("/api/v1/schedules", json={"name": "Platform"}, headers=admin.headers)
    assert dup.status_code == 409
    assert client.delete(f"/api/v1/schedules/{sid}", headers=admin.headers).status_code == 204
    assert client.get(f"/api/v1/schedules/{sid}", headers=admin.headers).status_code == 404


def test_layers_and_rotations_crud(client: TestClient, admin: Account) -> None:
    sid = create_schedule(client, admin)["id"]
    layer = add_rotation_layer(client, admin, sid, [admin.id], T0)
    lid = layer["id"]
    assert layer["position"] == 0
    assert layer["rotations"][0]["user_ids"] == [admin.id]
    rotation = client.post(
        f"/api/v1/schedules/{sid}/layers/{lid}/rotations",
        json={
            **ROTATION,
            "user_ids": [admin.id, admin.id],
            "handoff_time": "09:30",
            "restrictions": [{"weekdays": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}],
        },
        headers=admin.headers,
    )
    assert rotation.status_code == 201, rotation.text
    rid = rotation.json()["id"]
    assert rotation.json()["handoff_time"] == "09:30:00"
    replaced = client.put(
        f"/api/v1/schedules/{sid}/layers/{lid}/rotations/{rid}",
        json={**ROTATION, "user_ids": [admin.id], "shift_count": 12, "shift_unit": "hours"},
        headers=admin.headers,
    )
    assert replaced.status_code == 200 and replaced.json()["shift_count"] == 12
    moved = client.patch(
        f"/api/v1/schedules/{sid}/layers/{lid}", json={"position": 5}, headers=admin.headers
    )
    assert moved.json()["position"] == 5
    path = f"/api/v1/schedules/{sid}/layers/{lid}/rotations/{rid}"
    assert client.delete(path, headers=admin.headers).status_code == 204
    assert client.delete(path, headers=admin.headers).status_code == 404
    layer_path = f"/api/v1/schedules/{sid}/layers/{lid}"
    assert client.delete(layer_path, headers=admin.headers).status_code == 204
    assert client.get(f"/api/v1/schedules/{sid}", headers=admin.headers).json()["layers"] == []


def test_overrides_crud(client: TestClient, admin: Account) -> None:
    sid = create_schedule(client, admin)["id"]
    body = {"start": iso(T0), "end": iso(T0 + timedelta(hours=2)), "user_ids": [admin.id]}
    created = client.post(f"/api/v1/schedules/{sid}/overrides", json=body, headers=admin.headers)
    assert created.status_code == 201
    assert created.json()["created_by"] == admin.id
    listed = client.get(
        f"/api/v1/schedules/{sid}/overrides",
        params={"start": iso(T0 + timedelta(hours=1))},
        headers=admin.headers,
    ).json()["items"]
    assert len(listed) == 1
    oid = created.json()["id"]
    path = f"/api/v1/schedules/{sid}/overrides/{oid}"
    assert client.delete(path, headers=admin.headers).status_code == 204


def test_roles(
    client: TestClient, admin: Account, make_account: Callable[..., Account], team_id: int
) -> None:
    viewer = make_account("viewer", teams=(team_id,))
    member = make_account("editor", teams=(team_id,))
    outsider = make_account("editor")
    # Editors create schedules for their own teams only; only admins for no team.
    assert (
        client.post(
            "/api/v1/schedules", json={"name": "x", "team_id": team_id}, headers=viewer.headers
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/api/v1/schedules", json={"name": "x", "team_id": team_id}, headers=outsider.headers
        ).status_code
        == 403
    )
    assert (
        client.post("/api/v1/schedules", json={"name": "x"}, headers=member.headers).status_code
        == 403
    )
    sid = create_schedule(client, member, "Team", team_id=team_id)["id"]
    # Everyone reads.
    for account in (viewer, outsider):
        assert client.get(f"/api/v1/schedules/{sid}", headers=account.headers).status_code == 200
        assert (
            client.get(f"/api/v1/schedules/{sid}/oncall", headers=account.headers).status_code
            == 200
        )
    # Only the team's editors and admins change.
    override = {"start": iso(T0), "end": iso(T0 + timedelta(hours=1)), "user_ids": []}
    for account, expected in ((viewer, 403), (outsider, 403), (member, 201), (admin, 201)):
        response = client.post(
            f"/api/v1/schedules/{sid}/overrides", json=override, headers=account.headers
        )
        assert response.status_code == expected, (account.email, response.text)
    assert client.delete(f"/api/v1/schedules/{sid}", headers=outsider.headers).status_code == 403
    # Moving a schedule to a team you are not in is refused.
    moved = client.patch(f"/api/v1/schedules/{sid}", json={"team_id": None}, headers=member.headers)
    assert moved.status_code == 403


@pytest.mark.parametrize(
    ("path", "body", "fragment"),
    [
        ("", {"name": "x", "time_zone": "Mars/Olympus"}, "unknown time zone"),
        ("", {"name": "x", "team_id": 999}, "team 999 does not exist"),
        ("/layers", {"rotations": [ROTATION]}, "rotations.0.user_ids"),
        (
            "/layers",
            {"rotations": [{**ROTATION, "user_ids": [999]}]},
            "no user with id 999",
        ),
        (
            "/layers",
            {"rotations": [{**ROTATION, "user_ids": [1], "end": "2026-03-01T00:00:00Z"}]},
            "end must be after start",
        ),
        (
            "/layers",
            {"rotations": [{**ROTATION, "user_ids": [1], "start": "2026-03-02T09:00:00"}]},
            "timezone",
        ),
        (
            "/layers",
            {"rotations": [{**ROTATION, "user_ids": [1], "shift_count": 0}]},
            "shift_count",
        ),
        (
            "/layers",
            {
                "rotations": [
                    {
                        **ROTATION,
                        "user_ids": [1],
                        "restrictions": [{"weekdays": [7], "start": "09:00", "end": "10:00"}],
                    }
                ]
            },
            "weekdays",
        ),
        (
            "/overrides",
            {"start": "2026-03-02T10:00:00Z", "end": "2026-03-02T10:00:00Z", "user_ids": [1]},
            "end must be after start",
        ),
        (
            "/overrides",
            {"start": "2026-03-02T10:00:00Z", "end": "2026-03-02T11:00:00Z", "user_ids": [42]},
            "no user with id 42",
        ),
    ],
)
def test_bad_input_is_a_clear_422(
    client: TestClient, admin: Account, path: str, body: dict[str, object], fragment: str
) -> None:
    if path:
        sid = create_schedule(client, admin)["id"]
        url = f"/api/v1/schedules/{sid}{path}"
    else:
        url = "/api/v1/schedules"
    response = client.post(url, json=body, headers=admin.headers)
    assert response.status_code == 422, response.text
    assert fragment in response.json()["error"]["message"]


def test_unknown_objects_are_404(client: TestClient, admin: Account) -> None:
    sid = create_schedule(client, admin)["id"]
    for path in ("/api/v1/schedules/999", f"/api/v1/schedules/{sid}/layers/5/rotations"):
        method = "GET" if path.endswith("999") else "POST"
        response = client.request(
            method, path, json={**ROTATION, "user_ids": [admin.id]}, headers=admin.headers
        )
        assert response.status_code == 404, path
