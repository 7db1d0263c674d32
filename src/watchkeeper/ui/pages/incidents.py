"""Incidents: list, declare (from an alert group), detail with timeline and status updates.

Mounted only when the incidents domain is installed (see ``routes.install_ui``).
The review editor and action items are not in the UI yet; the REST API has them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from watchkeeper.alerts import groups as group_svc
from watchkeeper.incidents import lifecycle, service, timeline
from watchkeeper.incidents.schemas import IncidentCreate
from watchkeeper.ui import queries
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


@router.get("/incidents")
def list_incidents(request: Request, session: ReadSession, me: Reader) -> Response:
    return render(
        request,
        "incidents/list.html",
        me,
        active=service.list_incidents(session, active=True, limit=50),
        resolved=service.list_incidents(session, active=False, limit=20),
        teams=queries.team_names(session),
    )


@router.post("/incidents")
def declare(
    request: Request,
    title: Text,
    group_id: Annotated[int | None, Form()] = None,
    csrf: CsrfField = None,
) -> Response:
    with editing(request, csrf) as (session, me):
        team_id = None
        if group_id is not None:
            team_id = group_svc.get_group(session, group_id=group_id).team_id
        service.require_editor(me.principal, None, team_id)
        data = IncidentCreate(
            title=title.strip(), group_ids=[group_id] if group_id is not None else []
        )
        incident = service.declare(
            session, actor=me.principal, data=data, now=now_of(request), source="ui"
        )
    flash(request, "Incident declared; you are its commander.")
    return redirect(f"/incidents/{incident.id}")


@router.get("/incidents/{incident_id}")
def incident_detail(
    request: Request, incident_id: int, session: ReadSession, me: Reader
) -> Response:
    incident = service.get_incident(session, incident_id=incident_id)
    editable = me.principal.is_admin or (
        me.principal.role != "viewer"
        and (incident.team_id is None or incident.team_id in me.principal.team_ids)
    )
    return render(
        request,
        "incidents/detail.html",
        me,
        i=incident,
        groups=service.linked_groups(session, incident_id=incident_id),
        entries=timeline.list_entries(session, incident_id=incident_id),
        statuses=lifecycle.STATUSES,
        can_edit=editable,
    )


@router.post("/incidents/{incident_id}/updates")
def post_update(
    request: Request,
    incident_id: int,
    text: Text,
    status: Annotated[str | None, Form()] = None,
    csrf: CsrfField = None,
) -> Response:
    with editing(request, csrf) as (session, me):
        incident = service.get_incident(session, incident_id=incident_id, lock=True)
        service.require_editor(me.principal, incident, None)
        service.post_status_update(
            session,
            actor=me.principal,
            incident=incident,
            text=text.strip(),
            status=status or None,
            now=now_of(request),
        )
    flash(request, "Status update posted.")
    return redirect(f"/incidents/{incident_id}")
