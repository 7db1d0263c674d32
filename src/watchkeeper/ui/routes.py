"""Mount the web UI: signed session cookie, static files and every page router."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from watchkeeper.ui import extras
from watchkeeper.ui.pages.admin import router as admin_router
from watchkeeper.ui.pages.alerts import router as alerts_router
from watchkeeper.ui.pages.auth import router as auth_router
from watchkeeper.ui.pages.escalation import router as escalation_router
from watchkeeper.ui.pages.home import router as home_router
from watchkeeper.ui.pages.integrations import router as integrations_router
from watchkeeper.ui.pages.profile import router as profile_router
from watchkeeper.ui.pages.schedule_edits import router as schedule_edits_router
from watchkeeper.ui.pages.schedules import router as schedules_router
from watchkeeper.ui.web import EXTRA_NAV, HERE

ROUTERS = (
    auth_router,
    home_router,
    alerts_router,
    schedules_router,
    schedule_edits_router,
    integrations_router,
    escalation_router,
    admin_router,
    profile_router,
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
    for router in ROUTERS:
        app.include_router(router, include_in_schema=False)
    if extras.incidents_available():
        from watchkeeper.ui.pages.incidents import router as incidents_router
        from watchkeeper.ui.pages.reviews import router as reviews_router

        app.include_router(incidents_router, include_in_schema=False)
        app.include_router(reviews_router, include_in_schema=False)
        if not any(link["href"] == "/incidents" for link in EXTRA_NAV):
            EXTRA_NAV.append({"href": "/incidents", "label": "Incidents"})
