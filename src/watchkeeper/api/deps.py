"""FastAPI dependencies: the session, the clock and the authenticated principal."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from watchkeeper.api.context import AppContext
from watchkeeper.db.base import MAX_ID
from watchkeeper.errors import Forbidden, NotFound, Unauthorized
from watchkeeper.identity import service as identity
from watchkeeper.identity.principal import Principal

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def ids_in_range(request: Request) -> None:
    """404 for a path id no table could hold (every route's ``*_id`` parameter).

    Past 32 bits PostgreSQL refused the value ("integer out of range", a 400)
    and past 64 bits SQLite could not even bind it (OverflowError, a 500);
    either way there is no such object, on both databases alike.
    """
    for name, value in request.path_params.items():
        digits = isinstance(value, str) and value.isascii() and value.isdigit()
        if digits and name.endswith("_id") and int(value) > MAX_ID:
            raise NotFound(f"no object has {name} {value}: ids are at most {MAX_ID}")


# The only writes a viewer may make: about themselves (tokens, profile, contact
# methods, rules, feeds), swaps and subscriptions of their own, and what-if
# learning. Every other write is refused before the body is even validated, so
# a viewer gets 403 rather than a validation error; routers still check
# editors' teams themselves.
VIEWER_WRITES = frozenset(
    {
        ("POST", "/api/v1/tokens"),
        ("DELETE", "/api/v1/tokens/{token_id}"),
        ("PATCH", "/api/v1/users/{user_id}"),
        ("POST", "/api/v1/me/shifts-feed"),
        ("POST", "/api/v1/users/{user_id}/contact-methods"),
        ("POST", "/api/v1/users/{user_id}/contact-methods/{method_id}/verify"),
        ("POST", "/api/v1/users/{user_id}/contact-methods/{method_id}/test"),
        ("DELETE", "/api/v1/users/{user_id}/contact-methods/{method_id}"),
        ("PUT", "/api/v1/users/{user_id}/notification-rules/{urgency}"),
        ("POST", "/api/v1/slos/learn"),
        ("POST", "/api/v1/schedules/{schedule_id}/swaps"),
        ("POST", "/api/v1/schedules/{schedule_id}/swaps/{swap_id}/take"),
        ("POST", "/api/v1/schedules/{schedule_id}/swaps/{swap_id}/cancel"),
        ("PATCH", "/api/v1/action-items/{item_id}"),
        ("PUT", "/api/v1/incidents/{incident_id}/subscription"),
        ("DELETE", "/api/v1/incidents/{incident_id}/subscription"),
    }
)

_VIEWER_WRITE_PATTERNS = tuple(
    (method, re.compile("^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(path)) + "/?$"))
    for method, path in sorted(VIEWER_WRITES)
)


def viewer_may_write(method: str, path: str) -> bool:
    """Whether ``method path`` is one of the writes a viewer may make."""
    return any(m == method and pattern.match(path) for m, pattern in _VIEWER_WRITE_PATTERNS)


def get_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


ContextDep = Annotated[AppContext, Depends(get_context)]


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request; reads never take SQLite's write lock.

    The transaction commits before the response is sent (``scope="function"``
    below). With FastAPI's default scope the code after ``yield`` runs once
    the response has gone: a client could hear 201 for a change whose commit
    then failed, or ask for it again before it was committed.
    """
    ctx = get_context(request)
    write = request.method not in READ_METHODS
    session = ctx.db.session(write=write)
    try:
        yield session
        if write:
            session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_now(request: Request) -> datetime:
    return get_context(request).clock.now()


NowDep = Annotated[datetime, Depends(get_now)]


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized(
            "missing API token; send 'Authorization: Bearer <token>' "
            "(create one with 'watchkeeper token create --email you@example.com')"
        )
    return value.strip()


def get_principal(request: Request, session: SessionDep) -> Principal:
    """The user behind the bearer token; 401 when missing, unknown or revoked."""
    secret = _bearer(request)
    token = identity.find_active_token(session, secret=secret)
    if token is None:
        raise Unauthorized("API token is unknown or revoked")
    ctx = get_context(request)
    now = ctx.clock.now()
    if token.last_used_at is None or token.last_used_at < now - identity.LAST_USED_PRECISION:
        if request.method in READ_METHODS:
            # A separate short write keeps read requests free of SQLite's write lock.
            with ctx.db.write() as write_session:
                identity.touch_token(write_session, token_id=token.id, now=now)
        else:
            # The request already holds the write lock; a second writer would wait on it.
            identity.touch_token(session, token_id=token.id, now=now)
    principal = identity.principal_for(session, token.user)
    if (
        principal.role == "viewer"
        and request.method not in READ_METHODS
        and not viewer_may_write(request.method, request.url.path)
    ):
        raise Forbidden("viewers can read but not change this; ask an admin for the editor role")
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
