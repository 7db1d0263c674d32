"""Login, logout and the pages of the web UI."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.sessions import SessionMiddleware

from watchkeeper import __version__
from watchkeeper.api.deps import get_context
from watchkeeper.identity import service as identity
from watchkeeper.identity.models import User
from watchkeeper.ui.csrf import check_csrf, csrf_token

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals["version"] = __version__

SESSION_USER = "user_id"


def current_user(request: Request) -> User | None:
    user_id = request.session.get(SESSION_USER)
    if not isinstance(user_id, int):
        return None
    with get_context(request).db.read() as session:
        user = session.get(User, user_id)
        return user if user is not None and user.is_active else None


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("user", current_user(request))
    return templates.TemplateResponse(
        request, name, {"csrf": csrf_token(request), **context}, status_code=status_code
    )


def install_ui(app: FastAPI) -> None:
    ctx = app.state.ctx
    app.add_middleware(
        SessionMiddleware,
        secret_key=ctx.secret_key,
        session_cookie="watchkeeper_session",
        max_age=14 * 24 * 3600,
        same_site="lax",
        https_only=ctx.settings.base_url.startswith("https://"),
    )
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request) -> Response:
        user = current_user(request)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        return render(request, "home.html", user=user)

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_form(request: Request) -> Response:
        return render(request, "login.html", error=None)

    @app.post("/login", response_class=HTMLResponse, include_in_schema=False)
    def login(
        request: Request,
        email: Annotated[str, Form()],
        password: Annotated[str, Form()],
        csrf_token: Annotated[str | None, Form()] = None,
    ) -> Response:
        check_csrf(request, csrf_token)
        with get_context(request).db.read() as session:
            user = identity.authenticate_password(session, email=email, password=password)
        if user is None:
            return render(request, "login.html", status_code=401, error="Wrong email or password.")
        request.session.clear()
        request.session[SESSION_USER] = user.id
        return RedirectResponse("/", status_code=303)

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request, csrf_token: Annotated[str | None, Form()] = None) -> Response:
        check_csrf(request, csrf_token)
        request.session.clear()
        return RedirectResponse("/login", status_code=303)
