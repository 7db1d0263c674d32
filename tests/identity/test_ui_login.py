"""Password login with a signed session cookie and CSRF-protected forms."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.conftest import Account


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "form has no CSRF field"
    return match.group(1)


def test_login_logout(client: TestClient, make_account: Callable[..., Account]) -> None:
    make_account("editor", email="pat@example.com", password="correct horse")
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    form = client.get("/login")
    token = _csrf(form.text)
    wrong = client.post(
        "/login", data={"email": "pat@example.com", "password": "nope", "csrf_token": token}
    )
    assert wrong.status_code == 401
    assert "Wrong email or password" in wrong.text
    ok = client.post(
        "/login",
        data={"email": "pat@example.com", "password": "correct horse", "csrf_token": token},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    cookie = client.cookies.get("watchkeeper_session")
    assert cookie and "pat@example.com" not in cookie
    home = client.get("/")
    assert "pat@example.com" in home.text
    logout = client.post("/logout", data={"csrf_token": _csrf(home.text)}, follow_redirects=False)
    assert logout.status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 303


def test_forms_without_csrf_are_refused(
    client: TestClient, make_account: Callable[..., Account]
) -> None:
    make_account("editor", email="sam@example.com", password="correct horse")
    client.get("/login")
    response = client.post("/login", data={"email": "sam@example.com", "password": "correct horse"})
    assert response.status_code == 403
    forged = client.post(
        "/login",
        data={"email": "sam@example.com", "password": "correct horse", "csrf_token": "forged"},
    )
    assert forged.status_code == 403


def test_tampered_session_cookie_is_ignored(client: TestClient) -> None:
    client.cookies.set("watchkeeper_session", "eyJ1c2VyX2lkIjogMX0=.forged.sig")
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
