"""REST API: incidents, severities, roles, alert group links, timeline, status updates.

Viewers read; editors of the incident's team (any editor when it has no team)
change it; admins change anything. Reviews and action items are in api_review.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status

from watchkeeper.api.deps import CurrentPrincipal, NowDep, SessionDep
from watchkeeper.identity.principal import Principal
from watchkeeper.incidents import hooks, links, roles, service, severities, timeline, views
from watchkeeper.incidents.api_review import router as review_router
from watchkeeper.incidents.models import Incident
from watchkeeper.incidents.schemas import (
    ROLE_PATTERN,
    GroupLinks,
    IncidentCreate,
    IncidentDetail,
    IncidentOut,
    IncidentUpdate,
    MetricsOut,
    RoleAssign,
    SeverityIn,
    SeverityOut,
    Status,
    StatusChange,
    StatusUpdateCreate,
    TimelineCreate,
    TimelineEdit,
    TimelineEntryOut,
)
from watchkeeper.incidents.service import require_editor

router = APIRouter(prefix="/api/v1", tags=["incidents"])
router.include_router(review_router)
# The app imports this router, so every serving process (the one that runs the
# escalation engine) has the declare_incident step wired to incidents.
hooks.register()

RolePath = Annotated[
    str, Path(pattern=ROLE_PATTERN, description="commander, communications or a custom role")
]


def editable(session: SessionDep, principal: Principal, incident_id: int) -> Incident:
    """The incident, locked for the change, after checking the caller may change it."""
    incident = service.get_incident(session, incident_id=incident_id, lock=True)
    require_editor(principal, incident, None)
    return incident


@router.get("/incident-severities", summary="Severity levels, most severe first")
def list_severities(
    session: SessionDep, principal: CurrentPrincipal
) -> dict[str, list[SeverityOut]]:
    return {"items": [SeverityOut.model_validate(s) for s in severities.list_severities(session)]}


@router.put(
    "/incident-severities/{name}",
    response_model=SeverityOut,
    summary="Create or change a severity level (admins)",
)
def put_severity(
    name: Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")],
    body: SeverityIn,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> SeverityOut:
    principal.require("admin")
    return SeverityOut.model_validate(severities.put_severity(session, name=name, data=body))


@router.delete(
    "/incident-severities/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an unused severity level (admins)",
)
def delete_severity(name: str, session: SessionDep, principal: CurrentPrincipal) -> None:
    principal.require("admin")
    severities.delete_severity(session, name=name)


@router.get("/incidents", summary="Incidents, newest first")
def list_incidents(
    session: SessionDep,
    principal: CurrentPrincipal,
    status_: Annotated[Status | None, Query(alias="status")] = None,
    active: Annotated[bool | None, Query(description="true: not resolved")] = None,
    team_id: int | None = None,
    before_id: Annotated[int | None, Query(description="next_before_id of the last page")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    rows = service.list_incidents(
        session, status=status_, active=active, team_id=team_id, before_id=before_id, limit=limit
    )
    items: list[IncidentOut] = views.incidents_out(session, rows)
    return {"items": items, "next_before_id": rows[-1].id if len(rows) == limit else None}


@router.post(
    "/incidents",
    response_model=IncidentDetail,
    status_code=status.HTTP_201_CREATED,
    summary="Declare an incident, optionally from alert groups",
)
def declare(
    body: IncidentCreate, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> IncidentDetail:
    require_editor(principal, None, body.team_id)
    incident = service.declare(session, actor=principal, data=body, now=now)
    # The team may come from the alert groups: check it too (rolls back if refused).
    require_editor(principal, incident, None)
    return views.incident_detail(session, incident)


@router.get("/incidents/{incident_id}", response_model=IncidentDetail, summary="One incident")
def get_incident(incident_id: int, session: SessionDep, principal: CurrentPrincipal) -> Any:
    return views.incident_detail(session, service.get_incident(session, incident_id=incident_id))


@router.patch(
    "/incidents/{incident_id}",
    response_model=IncidentDetail,
    summary="Change title, summary, severity, team, affected services and teams, labels",
)
def update_incident(
    incident_id: int,
    body: IncidentUpdate,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> Any:
    incident = editable(session, principal, incident_id)
    if "team_id" in body.model_fields_set:
        require_editor(principal, None, body.team_id)
    service.update_incident(session, actor=principal, incident=incident, data=body, now=now)
    return views.incident_detail(session, incident)


@router.post(
    "/incidents/{incident_id}/status",
    response_model=IncidentDetail,
    summary="Move the status: investigating, identified, monitoring, resolved",
)
def change_status(
    incident_id: int,
    body: StatusChange,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> Any:
    incident = editable(session, principal, incident_id)
    service.change_status(
        session,
        actor=principal,
        incident=incident,
        status=body.status,
        message=body.message,
        now=now,
    )
    return views.incident_detail(session, incident)


@router.post(
    "/incidents/{incident_id}/updates",
    response_model=TimelineEntryOut,
    status_code=status.HTTP_201_CREATED,
    summary="Post a status update to subscribers and chat (through the notification system)",
)
def post_update(
    incident_id: int,
    body: StatusUpdateCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> Any:
    incident = editable(session, principal, incident_id)
    return service.post_status_update(
        session, actor=principal, incident=incident, text=body.text, status=body.status, now=now
    )


@router.post(
    "/incidents/{incident_id}/alert-groups",
    response_model=IncidentDetail,
    summary="Link more alert groups",
)
def link_groups(
    incident_id: int,
    body: GroupLinks,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> Any:
    incident = editable(session, principal, incident_id)
    links.link_groups(
        session, actor=principal, incident=incident, group_ids=body.group_ids, now=now
    )
    return views.incident_detail(session, incident)


@router.delete(
    "/incidents/{incident_id}/alert-groups/{group_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Unlink an alert group",
)
def unlink_group(
    incident_id: int, group_id: int, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> None:
    incident = editable(session, principal, incident_id)
    links.unlink_group(session, actor=principal, incident=incident, group_id=group_id, now=now)


@router.put(
    "/incidents/{incident_id}/roles/{role}",
    response_model=IncidentDetail,
    summary="Assign a role, or hand it over when someone holds it",
)
def assign_role(
    incident_id: int,
    role: RolePath,
    body: RoleAssign,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> Any:
    incident = editable(session, principal, incident_id)
    roles.assign(
        session, incident=incident, role=role, user_id=body.user_id, actor=principal, now=now
    )
    return views.incident_detail(session, incident)


@router.delete(
    "/incidents/{incident_id}/roles/{role}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Leave a role empty",
)
def unassign_role(
    incident_id: int, role: RolePath, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> None:
    incident = editable(session, principal, incident_id)
    roles.unassign(session, incident=incident, role=role, actor=principal, now=now)


@router.get("/incidents/{incident_id}/timeline", summary="The timeline, oldest first")
def get_timeline(
    incident_id: int,
    session: SessionDep,
    principal: CurrentPrincipal,
    pinned: Annotated[bool, Query(description="only key moments")] = False,
) -> dict[str, list[TimelineEntryOut]]:
    service.get_incident(session, incident_id=incident_id)
    entries = timeline.list_entries(session, incident_id=incident_id, pinned_only=pinned)
    return {"items": [TimelineEntryOut.model_validate(e) for e in entries]}


@router.post(
    "/incidents/{incident_id}/timeline",
    response_model=TimelineEntryOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add a note, decision or link",
)
def add_entry(
    incident_id: int,
    body: TimelineCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> Any:
    editable(session, principal, incident_id)
    return timeline.add_human(session, incident_id=incident_id, actor=principal, data=body, now=now)


@router.patch(
    "/incidents/{incident_id}/timeline/{entry_id}",
    response_model=TimelineEntryOut,
    summary="Edit an entry (earlier versions stay in history) or pin it as a key moment",
)
def edit_entry(
    incident_id: int,
    entry_id: int,
    body: TimelineEdit,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> Any:
    editable(session, principal, incident_id)
    return timeline.edit(
        session, incident_id=incident_id, entry_id=entry_id, actor=principal, data=body, now=now
    )


@router.put(
    "/incidents/{incident_id}/subscription",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Receive this incident's status updates (anyone who can read it)",
)
def subscribe(incident_id: int, session: SessionDep, principal: CurrentPrincipal) -> None:
    assert principal.id is not None
    incident = service.get_incident(session, incident_id=incident_id)
    service.subscribe(session, incident=incident, user_id=principal.id, on=True)


@router.delete(
    "/incidents/{incident_id}/subscription",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Stop receiving this incident's status updates",
)
def unsubscribe(incident_id: int, session: SessionDep, principal: CurrentPrincipal) -> None:
    assert principal.id is not None
    incident = service.get_incident(session, incident_id=incident_id)
    service.subscribe(session, incident=incident, user_id=principal.id, on=False)


@router.get(
    "/incidents/{incident_id}/metrics",
    response_model=MetricsOut,
    summary="Time to acknowledge, mitigate and resolve",
)
def metrics(incident_id: int, session: SessionDep, principal: CurrentPrincipal) -> MetricsOut:
    incident = service.get_incident(session, incident_id=incident_id)
    return views.incident_out(session, incident).metrics
