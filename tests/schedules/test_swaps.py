"""Shift swaps: request, take (creates an override), cancel; audited."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient

from tests.conftest import T0, Account
from tests.schedules.helpers import add_rotation_layer, create_schedule, iso

H = timedelta(hours=1)


def who(client: TestClient, account: Account, sid: int, at: str) -> list[str]:
    body = client.get(
        f"/api/v1/schedules/{sid}/oncall", params={"at": at}, headers=account.headers
    ).json()
    return [u["email"] for u in body["users"]]


def test_swap_flow(
    client: TestClient,
    admin: Account,
    make_account: Callable[..., Account],
    team_id: int,
) -> None:
    ana = make_account("viewer", teams=(team_id,), email="ana@example.com")
    ben = make_account("viewer", teams=(team_id,), email="ben@example.com")
    outsider = make_account("viewer", email="out@example.com")
    sid = create_schedule(client, admin, team_id=team_id)["id"]
    add_rotation_layer(client, admin, sid, [ana.id, ben.id], T0 - H)  # Ana until tomorrow 09:00
    base = f"/api/v1/schedules/{sid}/swaps"
    span = {"start": iso(T0), "end": iso(T0 + 4 * H), "reason": "dentist"}

    not_mine = client.post(base, json=span, headers=ben.headers)
    assert not_mine.status_code == 422
    assert "not on call" in not_mine.json()["error"]["message"]
    assert client.post(base, json=span, headers=outsider.headers).status_code == 403

    created = client.post(base, json=span, headers=ana.headers)
    assert created.status_code == 201, created.text
    swap = created.json()
    assert swap["status"] == "open" and swap["requester_id"] == ana.id
    listed = client.get(base, params={"status": "open"}, headers=ben.headers).json()["items"]
    assert [s["id"] for s in listed] == [swap["id"]]

    assert client.post(f"{base}/{swap['id']}/take", headers=ana.headers).status_code == 422
    assert client.post(f"{base}/{swap['id']}/take", headers=outsider.headers).status_code == 403
    taken = client.post(f"{base}/{swap['id']}/take", headers=ben.headers)
    assert taken.status_code == 200, taken.text
    assert taken.json()["status"] == "taken" and taken.json()["taker_id"] == ben.id
    assert len(taken.json()["override_ids"]) == 1
    assert client.post(f"{base}/{swap['id']}/take", headers=ben.headers).status_code == 409

    assert who(client, ana, sid, iso(T0 + H)) == ["ben@example.com"]
    assert who(client, ana, sid, iso(T0 + 5 * H)) == ["ana@example.com"]
    overrides = client.get(f"/api/v1/schedules/{sid}/overrides", headers=ana.headers).json()
    assert overrides["items"][0]["user_ids"] == [ben.id]
    assert overrides["items"][0]["created_by"] == ben.id

    log = client.get(
        "/api/v1/audit-log", params={"object_type": "schedule_swap"}, headers=admin.headers
    ).json()["items"]
    assert [e["action"] for e in log] == ["schedule.swap_take", "schedule.swap_request"]
    assert log[0]["actor_id"] == ben.id and log[1]["actor_id"] == ana.id
    override_log = client.get(
        "/api/v1/audit-log", params={"object_type": "schedule"}, headers=admin.headers
    ).json()["items"]
    assert any(e["action"] == "schedule.override_add" for e in override_log)


def test_cancel_swap(
    client: TestClient, admin: Account, make_account: Callable[..., Account], team_id: int
) -> None:
    ana = make_account("viewer", teams=(team_id,))
    ben = make_account("viewer", teams=(team_id,))
    sid = create_schedule(client, admin, team_id=team_id)["id"]
    add_rotation_layer(client, admin, sid, [ana.id], T0 - H)
    base = f"/api/v1/schedules/{sid}/swaps"
    span = {"start": iso(T0), "end": iso(T0 + H)}
    swap_id = client.post(base, json=span, headers=ana.headers).json()["id"]
    assert client.post(f"{base}/{swap_id}/cancel", headers=ben.headers).status_code == 403
    cancelled = client.post(f"{base}/{swap_id}/cancel", headers=ana.headers)
    assert cancelled.json()["status"] == "cancelled"
    assert client.post(f"{base}/{swap_id}/take", headers=ben.headers).status_code == 409
    assert client.post(f"{base}/{swap_id}/cancel", headers=ana.headers).status_code == 409
    past = {"start": iso(T0 - 3 * H), "end": iso(T0 - 2 * H)}
    assert client.post(base, json=past, headers=ana.headers).status_code == 422
