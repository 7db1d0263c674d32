"""Home, "Now": what needs me, who is on call, my next shift; polled live by htmx."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from watchkeeper.alerts.models import Integration
from watchkeeper.ui import extras, queries
from watchkeeper.ui.web import Me, Reader, ReadSession, UiRoute, now_of, render, render_text

router = APIRouter(route_class=UiRoute)
POLL_SECONDS = 5


def now_section(request: Request, session: Session, me: Me) -> dict[str, Any]:
    """The "Now" section's HTML and a version of it that changes when its content does."""
    now = now_of(request)
    groups = queries.open_groups(session, me)
    every = queries.all_schedules(session)
    schedules = queries.visible_schedules(every, me)
    body = render_text(
        request,
        "_now_body.html",
        me,
        groups=groups,
        counts=queries.open_counts(session, me),
        integrations=queries.integration_names(session, {g.integration_id for g in groups}),
        oncall=queries.on_call_now(session, schedules, now),
        my_shift=queries.my_next_shift(session, me, every, now),
        incidents=extras.active_incidents(session, me),
        has_integrations=queries.has_any(session, Integration),
        has_schedules=bool(every),
    )
    version = hashlib.sha256(body.encode()).hexdigest()[:16]
    # The body comes from our own autoescaping template.
    return {"now_body": Markup(body), "now_version": version, "poll_seconds": POLL_SECONDS}  # noqa: S704


@router.get("/")
def home(request: Request, session: ReadSession, me: Reader) -> Response:
    return render(request, "home.html", me, **now_section(request, session, me))


@router.get("/fragments/now")
def now_fragment(
    request: Request, session: ReadSession, me: Reader, v: str | None = None
) -> Response:
    """The "Now" section alone; 204 (htmx leaves the page as is) when nothing changed."""
    section = now_section(request, session, me)
    if v == section["now_version"]:
        return Response(status_code=204)
    return render(request, "_now.html", me, **section)
