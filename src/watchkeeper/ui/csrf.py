"""CSRF protection for forms: a per-session token that every POST must echo."""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request

from watchkeeper.errors import Forbidden

SESSION_KEY = "csrf"


def csrf_token(request: Request) -> str:
    token = request.session.get(SESSION_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[SESSION_KEY] = token
    return token


def check_csrf(request: Request, submitted: str | None) -> None:
    expected = request.session.get(SESSION_KEY)
    header = request.headers.get("x-csrf-token")
    given = submitted or header or ""
    if not isinstance(expected, str) or not hmac.compare_digest(expected, given):
        raise Forbidden("the form expired or did not come from this site; reload and try again")
