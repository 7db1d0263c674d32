"""Text and numbers no database can store get a 4xx that says so, never a 500."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import psycopg
import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.exc import DataError

from tests.conftest import Account
from watchkeeper.api.text_guard import (
    NUL_MESSAGE,
    SURROGATE_MESSAGE,
    form_problem,
    json_problem,
)
from watchkeeper.db.engine import Database


def _post_raw(client: TestClient, admin: Account, path: str, raw: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    response = client.post(
        path,
        content=raw.encode(),
        headers={**admin.headers, "Content-Type": "application/json"},
    )
    return response.status_code, response.json()


def test_a_nul_in_a_json_body_is_refused_and_nothing_is_stored(
    client: TestClient, admin: Account
) -> None:
    status, body = _post_raw(client, admin, "/api/v1/teams", '{"name": "ops\\u0000"}')
    assert status == 400
    assert body["error"] == {"code": "bad_request", "message": NUL_MESSAGE}
    status, body = _post_raw(
        client,
        admin,
        "/api/v1/integrations",
        '{"name": "x", "kind": "webhook", "templates": {"title": "a\\u0000"}}',
    )
    assert status == 400
    assert client.get("/api/v1/teams", headers=admin.headers).json()["items"] == []
    assert client.get("/api/v1/integrations", headers=admin.headers).json()["items"] == []


def test_a_lone_surrogate_in_a_json_body_is_refused(client: TestClient, admin: Account) -> None:
    for raw in ('{"name": "a\\ud800b"}', '{"name": "a\\udc00"}', '{"name": "\\ud83d\\ud83d"}'):
        status, body = _post_raw(client, admin, "/api/v1/teams", raw)
        assert status == 400, raw
        assert body["error"]["message"] == SURROGATE_MESSAGE


def test_escaped_backslashes_and_surrogate_pairs_are_ordinary_text(
    client: TestClient, admin: Account
) -> None:
    status, body = _post_raw(client, admin, "/api/v1/teams", '{"name": "\\\\u0000 \\ud83d\\ude00"}')
    assert status == 201, body
    assert body["name"] == "\\u0000 \U0001f600"


def test_a_nul_in_a_query_or_a_form_is_refused(client: TestClient, admin: Account) -> None:
    response = client.get("/api/v1/alert-groups?label=team%3Da%00b", headers=admin.headers)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == NUL_MESSAGE
    response = client.post(
        "/login",
        content=b"email=a%00b&password=x&csrf_token=y",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == NUL_MESSAGE


def test_ingest_is_not_refused_for_a_nul(client: TestClient, admin: Account) -> None:
    created = client.post(
        "/api/v1/integrations", json={"name": "pd", "kind": "pagerduty"}, headers=admin.headers
    ).json()
    event = {
        "routing_key": created["token"],
        "event_action": "trigger",
        "dedup_key": "k",
        "payload": {"summary": "disk\u0000full", "source": "db1", "severity": "critical"},
    }
    assert client.post("/v2/enqueue", json=event).status_code == 202


@given(st.text())
def test_json_problem_matches_what_can_be_stored(text: str) -> None:
    try:
        text.encode("utf-8")
        storable = "\x00" not in text
    except UnicodeEncodeError:
        storable = False
    body = json.dumps({"name": text}).encode()  # ASCII, every non-ASCII character escaped
    assert (json_problem(body) is None) == storable


@given(st.text())
def test_form_problem_finds_every_nul(text: str) -> None:
    body = urlencode({"name": text.encode("utf-8", "replace")}).encode()
    assert (form_problem(body) is None) == ("\x00" not in text)


def test_a_value_the_database_refuses_is_a_400_naming_it(
    client: TestClient, admin: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    from watchkeeper.identity import service

    def refuse(*_args: object, **_kwargs: object) -> None:
        reason = psycopg.errors.NumericValueOutOfRange('integer out of range for "id"')
        raise DataError("INSERT INTO teams …", {}, reason)

    monkeypatch.setattr(service, "create_team", refuse)
    response = client.post("/api/v1/teams", json={"name": "ops"}, headers=admin.headers)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        'the database refused a value in this request: integer out of range for "id"'
    )


def test_an_id_no_table_could_hold_is_a_404(client: TestClient, admin: Account) -> None:
    # Beyond 32 bits PostgreSQL answered "integer out of range" (400), and
    # beyond 64 bits SQLite could not bind it at all (OverflowError, a 500).
    for huge in (str(2**31), "9" * 25):
        for path in (f"/api/v1/teams/{huge}", f"/api/v1/alert-groups/{huge}", f"/incidents/{huge}"):
            response = client.get(path, headers=admin.headers)
            assert response.status_code == 404, (path, response.text)
            assert huge in response.text  # the UI's page or the API's JSON error
    # The largest id is looked up as usual: there is no such team.
    response = client.get(f"/api/v1/teams/{2**31 - 1}", headers=admin.headers)
    assert response.status_code == 404
    assert response.json()["error"]["message"] == f"team {2**31 - 1} does not exist"


def test_a_number_beyond_64_bits_elsewhere_is_never_a_500(
    client: TestClient, admin: Account, db: Database
) -> None:
    for number in (str(2**31), "9" * 25):
        response = client.get(f"/api/v1/audit-log?before_id={number}", headers=admin.headers)
        if db.is_sqlite and len(number) < 19:  # SQLite's INTEGER has 64 bits
            assert response.status_code == 200, response.text
            continue
        assert response.status_code == 400, response.text
        assert "out of range" in response.json()["error"]["message"]


def test_rules_for_a_user_who_does_not_exist_are_a_404(client: TestClient, admin: Account) -> None:
    # Was a foreign key failure at commit: a 500 on both databases.
    response = client.put(
        "/api/v1/users/0/notification-rules/default",
        json={"steps": [{"kind": "wait", "wait_minutes": 1}]},
        headers=admin.headers,
    )
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "user 0 does not exist"
