"""My profile: name, time zone, my calendar feed; contact methods once notify exists."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from watchkeeper.api.deps import get_context
from watchkeeper.identity import service as identity
from watchkeeper.identity.schemas import UserUpdate
from watchkeeper.schedules import feeds
from watchkeeper.ui import extras, queries
from watchkeeper.ui.pages.schedules import COMMON_ZONES
from watchkeeper.ui.web import (
    CsrfField,
    Reader,
    ReadSession,
    UiRoute,
    editing,
    flash,
    now_of,
    redirect,
    render,
)

router = APIRouter(route_class=UiRoute)
Text = Annotated[str, Form()]


@router.get("/profile")
def profile(request: Request, session: ReadSession, me: Reader) -> Response:
    token = feeds.get_user_token(session, user_id=me.user.id)
    teams = queries.team_names(session)
    return render(
        request,
        "profile.html",
        me,
        zones=sorted({me.user.time_zone, *COMMON_ZONES}),
        my_teams=[teams[t] for t in sorted(me.principal.team_ids) if t in teams],
        feed_url=feeds.user_feed_url(get_context(request).settings.base_url, token)
        if token
        else None,
        notify_ready=extras.notify_tables_available(),
    )


@router.post("/profile")
def update_profile(
    request: Request, name: Text, time_zone: Text, csrf: CsrfField = None
) -> Response:
    with editing(request, csrf) as (session, me):
        data = UserUpdate(name=name.strip(), time_zone=time_zone.strip())
        # Everyone may change their own name and zone; roles stay admin-only.
        identity.update_user(
            session, actor=me.principal, user_id=me.user.id, data=data, now=now_of(request)
        )
    flash(request, "Profile saved.")
    return redirect("/profile")


@router.post("/profile/feed")
def regenerate_feed(request: Request, csrf: CsrfField = None) -> Response:
    with editing(request, csrf) as (session, me):
        feeds.regenerate_user_token(
            session, actor=me.principal, user_id=me.user.id, now=now_of(request)
        )
    flash(request, "New calendar address created; the old one no longer works.")
    return redirect("/profile")
