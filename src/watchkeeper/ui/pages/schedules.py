"""Schedules: the list, the timeline of final shifts, and the health report."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from watchkeeper.api.deps import get_context
from watchkeeper.errors import BadRequest
from watchkeeper.schedules import definitions, feeds, reports, swaps
from watchkeeper.schedules import service as svc
from watchkeeper.ui import formatting, queries, timeline
from watchkeeper.ui.pages.integrations import editable_teams
from watchkeeper.ui.web import Reader, ReadSession, UiRoute, now_of, render

router = APIRouter(route_class=UiRoute)
COMMON_ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Sydney",
)


@router.get("/schedules")
def list_schedules(request: Request, session: ReadSession, me: Reader) -> Response:
    now = now_of(request)
    schedules = svc.list_schedules(session)
    teams = queries.team_names(session)
    local_now = formatting.Formatter(me.user.time_zone, now)
    return render(
        request,
        "schedules/list.html",
        me,
        oncall=queries.on_call_now(session, schedules, now),
        teams=teams,
        my_teams=editable_teams(me, teams),
        users=queries.user_choices(session),
        zones=sorted({me.user.time_zone, *COMMON_ZONES}),
        default_start=local_now.input_value(now.replace(minute=0, second=0, microsecond=0)),
    )


def _first_day(value: str | None, today: date) -> date:
    if not value:
        return today
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise BadRequest("start must be a date like 2026-03-02") from exc


@router.get("/schedules/{schedule_id}")
def schedule_detail(
    request: Request,
    schedule_id: int,
    session: ReadSession,
    me: Reader,
    view: Annotated[str, Query()] = "week",
    start: Annotated[str | None, Query()] = None,
) -> Response:
    now = now_of(request)
    schedule = svc.get_schedule(session, schedule_id=schedule_id)
    view = view if view in timeline.RANGES else "week"
    zone = formatting.zone(schedule.time_zone)
    first = _first_day(start, now.astimezone(zone).date())
    lo, hi = timeline.window(schedule.time_zone, view, first)
    definition = definitions.definition_for(session, schedule, lo, hi)
    users = queries.user_choices(session)
    names = {str(uid): name for uid, name, _ in users}
    layer_names = {str(layer.id): layer.name for layer in schedule.layers}
    tl = timeline.build(
        definition,
        view=view,
        start=lo,
        end=hi,
        now=now,
        name_of=lambda key: names.get(key, f"user {key}"),
        layer_names=layer_names,
    )
    step = timedelta(days=timeline.RANGES[view])
    current = reports.on_call(session, schedule=schedule, at=now)
    base_url = get_context(request).settings.base_url
    feed_token = feeds.get_user_token(session, user_id=me.user.id)
    return render(
        request,
        "schedules/detail.html",
        me,
        s=schedule,
        tl=tl,
        view=view,
        views=timeline.RANGES,
        first=first,
        prev_day=(first - step).isoformat(),
        next_day=(first + step).isoformat(),
        names=names,
        current=current,
        users=users,
        overrides=svc.list_overrides(session, schedule_id=schedule_id, start=now),
        swaps=swaps.list_swaps(session, schedule_id=schedule_id, status="open"),
        team=queries.team_names(session).get(schedule.team_id or 0),
        can_edit=me.can_edit(schedule.team_id),
        can_swap=me.is_admin or schedule.team_id in (None, *me.principal.team_ids),
        feed_url=feeds.schedule_feed_url(base_url, schedule),
        my_feed_url=feeds.user_feed_url(base_url, feed_token) if feed_token else None,
        tz_now=formatting.Formatter(schedule.time_zone, now),
    )


@router.get("/schedules/{schedule_id}/health")
def schedule_health(
    request: Request,
    schedule_id: int,
    session: ReadSession,
    me: Reader,
    days: Annotated[int, Query(ge=1, le=365)] = 30,
) -> Response:
    schedule = svc.get_schedule(session, schedule_id=schedule_id)
    result = reports.quality(session, schedule=schedule, now=now_of(request), days=days)
    return render(request, "schedules/health.html", me, s=schedule, r=result.report, days=days)


def local_input(value: str, time_zone: str) -> datetime:
    """An ``<input type="datetime-local">`` value read in ``time_zone``."""
    try:
        naive = datetime.fromisoformat(value)
    except ValueError as exc:
        raise BadRequest(f"{value!r} is not a date and time like 2026-03-02T09:00") from exc
    if naive.tzinfo is not None:
        return naive
    return naive.replace(tzinfo=formatting.zone(time_zone))
