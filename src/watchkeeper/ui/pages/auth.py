"""Log in and out with a password; the session is a signed cookie."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from watchkeeper.api.deps import get_context
from watchkeeper.identity import service as identity
from watchkeeper.ui.csrf import check_csrf
from watchkeeper.ui.web import SESSION_USER, CsrfField, UiRoute, redirect, render, safe_next

router = APIRouter(route_class=UiRoute)


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", None, error=None, next=safe_next(next, "/"))


@router.post("/login")
def login(
    request: Request,
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf: CsrfField = None,
    next: Annotated[str | None, Form()] = None,
) -> Response:
    check_csrf(request, csrf)
    with get_context(request).db.read() as session:
        user = identity.authenticate_password(session, email=email, password=password)
    target = safe_next(next, "/")
    if user is None:
        return render(
            request, "login.html", None, 401, error="Wrong email or password.", next=target
        )
    request.session.clear()
    request.session[SESSION_USER] = user.id
    return redirect(target)


@router.post("/logout")
def logout(request: Request, csrf: CsrfField = None) -> Response:
    check_csrf(request, csrf)
    request.session.clear()
    return redirect("/login")
