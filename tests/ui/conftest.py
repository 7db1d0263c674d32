"""Fixtures for UI tests: signing in through the login form, CSRF tokens, seeded objects."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Account
from watchkeeper.alerts import integrations as integration_svc
from watchkeeper.alerts.schemas import IntegrationCreate
from watchkeeper.clock import FixedClock
from watchkeeper.db.engine import Database
from watchkeeper.identity import service as identity
from watchkeeper.identity.principal import SYSTEM

PASSWORD = "correct horse battery"


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no form with a CSRF field"
    return match.group(1)


@dataclass
class Browser:
    """A TestClient signed in as one person."""

    client: TestClient
    account: Account
    csrf: str

    def get(self, url: str) -> str:
        response = self.client.get(url)
        assert response.status_code == 200, (url, response.status_code, response.text[:500])
        return response.text

    def post(self, url: str, data: dict[str, object] | None = None, **kwargs: object):  # type: ignore[no-untyped-def]
        form = {"csrf_token": self.csrf, **(data or {})}
        return self.client.post(url, data=form, follow_redirects=False, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def team_id(db: Database, clock: FixedClock) -> int:
    with db.write() as session:
        return identity.create_team(
            session, actor=SYSTEM, name="Platform", description="", now=clock.now()
        ).id


@pytest.fixture
def sign_in(client: TestClient, make_account: Callable[..., Account]) -> Callable[..., Browser]:
    """Create a person with a role and log them in through the form (one per test)."""

    def make(
        role: str = "editor", *, teams: tuple[int, ...] = (), email: str | None = None
    ) -> Browser:
        account = make_account(role, teams=teams, email=email, password=PASSWORD)
        client.cookies.clear()
        token = csrf_of(client.get("/login").text)
        response = client.post(
            "/login",
            data={"email": account.email, "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        assert response.status_code == 303
        return Browser(client, account, csrf_of(client.get("/profile").text))

    return make


@pytest.fixture
def make_integration(db: Database, clock: FixedClock) -> Callable[..., int]:
    def make(name: str = "Prod AM", kind: str = "alertmanager", team_id: int | None = None) -> int:
        with db.write() as session:
            return integration_svc.create_integration(
                session,
                actor=SYSTEM,
                data=IntegrationCreate(name=name, kind=kind, team_id=team_id),  # type: ignore[arg-type]
                now=clock.now(),
            ).id

    return make


@pytest.fixture
def fire_test_alert(db: Database, clock: FixedClock) -> Callable[[int], int]:
    """Send a test alert through an integration; returns the alert group id."""

    def fire(integration_id: int) -> int:
        with db.write() as session:
            integration = integration_svc.get_integration(session, integration_id=integration_id)
            result = integration_svc.send_test_alert(
                session, integration=integration, actor=SYSTEM, now=clock.now()
            )
            return sorted(result.touched_group_ids)[0]

    return fire


@pytest.fixture
def ingest(client: TestClient, db: Database) -> Callable[..., None]:
    """Post Alertmanager alerts to an integration's ingest URL, like a real sender."""
    from tests.alerts.conftest import am_alert, am_webhook

    def send(integration_id: int, *keys: str, name: str = "HighLatency") -> None:
        with db.read() as session:
            token = integration_svc.get_integration(session, integration_id=integration_id).token
        for key in keys:
            body = am_webhook(key, [am_alert(name, instance=key)])
            response = client.post(f"/ingest/{token}", json=body)
            assert response.status_code == 202, response.text

    return send
