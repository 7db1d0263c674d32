"""Alert groups: a filterable list with cursor pagination, detail, and the lifecycle buttons."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from watchkeeper.alerts import groups as group_svc
from watchkeeper.alerts import integrations as integration_svc
from watchkeeper.alerts.store import Actor
from watchkeeper.errors import Invalid, NotFound
from watchkeeper.ui import extras, queries
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
    safe_next,
)

router = APIRouter(route_class=UiRoute)
PAGE_SIZE = 50
STATUSES = ("firing", "acknowledged", "silenced", "resolved")
SINCE = {
    "1h": timedelta(hours=1),
    "24h": timedelta(days=1),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
SILENCE_MINUTES = {30: "30 min", 60: "1 h", 240: "4 h", 1440: "24 h"}
Opt = Annotated[str | None, Query()]


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@router.get("/alert-groups")
def list_groups(
    request: Request,
    session: ReadSession,
    me: Reader,
    status: Opt = None,
    team: Opt = None,
    integration: Opt = None,
    label: Opt = None,
    since: Opt = None,
    cursor: Opt = None,
) -> Response:
    now = now_of(request)
    where = group_svc.GroupFilter(
        status=status if status in STATUSES else None,
        team_id=_int(team),
        integration_id=_int(integration),
        labels=group_svc.parse_label_filters([label.strip()]) if label and label.strip() else (),
        created_after=now - SINCE[since] if since in SINCE else None,
    )
    rows, next_cursor = group_svc.list_groups(
        session, where=where, cursor=cursor or None, limit=PAGE_SIZE
    )
    filters = {
        k: v
        for k, v in {
            "status": status,
            "team": team,
            "integration": integration,
            "label": label,
            "since": since,
        }.items()
        if v
    }
    return render(
        request,
        "alerts/list.html",
        me,
        groups=rows,
        filters=filters,
        older=f"/alert-groups?{urlencode({**filters, 'cursor': next_cursor})}"
        if next_cursor
        else None,
        paged=bool(cursor),
        newest=f"/alert-groups?{urlencode(filters)}",
        statuses=STATUSES,
        since_choices=SINCE,
        teams=queries.team_names(session),
        integrations={i.id: i.name for i in integration_svc.list_integrations(session)},
    )


@router.get("/alert-groups/{group_id}")
def group_detail(request: Request, group_id: int, session: ReadSession, me: Reader) -> Response:
    group = group_svc.get_group(session, group_id=group_id)
    integration = integration_svc.get_integration(session, integration_id=group.integration_id)
    return render(
        request,
        "alerts/detail.html",
        me,
        g=group,
        integration=integration,
        team=queries.team_names(session).get(group.team_id or 0),
        alerts=group_svc.group_alerts(session, group_id=group_id, limit=100),
        timeline=group_svc.group_timeline(session, group_id=group_id),
        silence_choices=SILENCE_MINUTES,
        can_declare=extras.incidents_available(),
    )


ACTIONS = {
    "acknowledge": (group_svc.acknowledge, "Acknowledged: escalation stops for this group."),
    "unacknowledge": (group_svc.unacknowledge, "Unacknowledged: the group is firing again."),
    "resolve": (group_svc.resolve, "Resolved."),
    "unresolve": (group_svc.unresolve, "Reopened."),
    "unsilence": (group_svc.unsilence, "Silence ended."),
}


@router.post("/alert-groups/{group_id}/silence")
def silence(
    request: Request,
    group_id: int,
    minutes: Annotated[int, Form()],
    csrf: CsrfField = None,
    next: Annotated[str | None, Form()] = None,
) -> Response:
    if minutes not in SILENCE_MINUTES:
        raise Invalid("choose a silence of 30 min, 1 h, 4 h or 24 h")
    now = now_of(request)
    with editing(request, csrf) as (session, me):
        group = group_svc.get_group(session, group_id=group_id)
        me.principal.require_team_editor(group.team_id)
        group_svc.silence(
            session,
            group_id=group_id,
            until=now + timedelta(minutes=minutes),
            actor=Actor("user", me.principal.name),
            now=now,
        )
    flash(request, f"Silenced for {SILENCE_MINUTES[minutes]}: nobody is paged meanwhile.")
    return redirect(safe_next(next, f"/alert-groups/{group_id}"))


@router.post("/alert-groups/{group_id}/{action}")
def act(
    request: Request,
    group_id: int,
    action: str,
    csrf: CsrfField = None,
    next: Annotated[str | None, Form()] = None,
) -> Response:
    if action not in ACTIONS:
        raise NotFound(f"there is no action {action!r} for alert groups")
    change, message = ACTIONS[action]
    with editing(request, csrf) as (session, me):
        group = group_svc.get_group(session, group_id=group_id)
        me.principal.require_team_editor(group.team_id)
        change(
            session, group_id=group_id, actor=Actor("user", me.principal.name), now=now_of(request)
        )
    flash(request, message)
    return redirect(safe_next(next, f"/alert-groups/{group_id}"))
