"""Plumbing every page shares: templates, the signed-in person, errors as HTML pages.

Pages call the same service functions as the REST API. ``UiRoute`` is the one
place that turns domain errors (and form validation errors) into an HTML page
with the right status, and a missing login into a redirect to /login.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlalchemy.orm import Session

from watchkeeper import __version__
from watchkeeper.api.deps import get_context
from watchkeeper.errors import DomainError
from watchkeeper.identity import service as identity
from watchkeeper.identity.models import User
from watchkeeper.identity.principal import Principal
from watchkeeper.ui import formatting
from watchkeeper.ui.csrf import check_csrf, csrf_token

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals["version"] = __version__
templates.env.filters["duration"] = formatting.duration
SESSION_USER = "user_id"
# Links to areas of optional domains, added by ``routes.install_ui`` when present.
EXTRA_NAV: list[dict[str, str]] = []
FLASH = "flash"


class LoginRequired(Exception):
    """The page needs a signed-in person; the route answers with a redirect to /login."""


@dataclass(frozen=True)
class Me:
    """The signed-in person and what their role lets them do."""

    user: User
    principal: Principal

    @property
    def is_admin(self) -> bool:
        return self.principal.is_admin

    def can_edit(self, team_id: int | None) -> bool:
        """True when ``Principal.require_team_editor(team_id)`` would pass."""
        if self.principal.is_admin:
            return True
        return self.principal.role == "editor" and team_id in self.principal.team_ids

    @property
    def can_edit_any(self) -> bool:
        return self.principal.is_admin or (
            self.principal.role == "editor" and bool(self.principal.team_ids)
        )


def read_session(request: Request) -> Iterator[Session]:
    """A read-only session for GET pages (never takes SQLite's write lock)."""
    with get_context(request).db.read() as session:
        yield session


def _me(request: Request, session: Session) -> Me:
    user_id = request.session.get(SESSION_USER)
    user = session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.is_active:
        raise LoginRequired()
    return Me(user, identity.principal_for(session, user))


def me_reading(request: Request, session: Annotated[Session, Depends(read_session)]) -> Me:
    return _me(request, session)


@contextmanager
def editing(request: Request, csrf: str | None) -> Iterator[tuple[Session, Me]]:
    """One write transaction for a form post, after its CSRF token was checked.

    A context manager rather than a dependency so the commit happens before the
    redirect is sent: the next page must see the change.
    """
    check_csrf(request, csrf)
    with get_context(request).db.write() as session:
        yield session, _me(request, session)


ReadSession = Annotated[Session, Depends(read_session)]
Reader = Annotated[Me, Depends(me_reading)]
CsrfField = Annotated[str | None, Form(alias="csrf_token")]


def now_of(request: Request) -> datetime:
    return get_context(request).clock.now()


def flash(request: Request, message: str) -> None:
    """A one-line confirmation shown on the next page."""
    request.session[FLASH] = message


def safe_next(value: str | None, default: str) -> str:
    """Only local paths: a form's ``next`` must not send anyone to another site."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def page_context(request: Request, me: Me | None) -> dict[str, Any]:
    """What every template may use: the CSRF token, the reader, their time formatter."""
    return {
        "request": request,
        "csrf": csrf_token(request),
        "me": me,
        "user": me.user if me else None,
        "fmt": formatting.Formatter(me.user.time_zone if me else "UTC", now_of(request)),
        "path": request.url.path,
        "extra_nav": EXTRA_NAV,
    }


def render_text(request: Request, name: str, me: Me | None, **context: Any) -> str:
    """A template rendered to a string (for fragments that are hashed or embedded)."""
    return templates.get_template(name).render({**page_context(request, me), **context})


def render(
    request: Request, name: str, me: Me | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    page = page_context(request, me)
    page["flash"] = request.session.pop(FLASH, None) if not name.startswith("_") else None
    return templates.TemplateResponse(request, name, {**page, **context}, status_code=status_code)


def _error_page(request: Request, status_code: int, message: str) -> Response:
    if request.headers.get("hx-request"):
        return HTMLResponse(
            f'<p class="error" role="alert">{_escape(message)}</p>', status_code=status_code
        )
    back = request.headers.get("referer")
    return render(request, "error.html", None, status_code, message=message, back=back)


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


def _validation_message(errors: list[Any]) -> str:
    parts = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        field = ".".join(loc)
        parts.append(f"{field}: {err.get('msg', 'invalid')}" if field else err.get("msg", ""))
    return "; ".join(parts) or "the form is not valid"


class UiRoute(APIRoute):
    """A page route: errors become HTML pages, a missing login a redirect."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                path = request.url.path
                target = "/login" if path == "/" else "/login?next=" + quote(path, safe="/")
                if request.headers.get("hx-request"):
                    return Response(status_code=204, headers={"HX-Redirect": target})
                return redirect(target)
            except DomainError as exc:
                return _error_page(request, exc.status_code, exc.message)
            except RequestValidationError as exc:
                return _error_page(request, 422, _validation_message(list(exc.errors())))
            except ValidationError as exc:
                return _error_page(request, 422, _validation_message(list(exc.errors())))

        return handle
