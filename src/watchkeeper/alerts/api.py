"""REST API: integrations and alert groups."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from watchkeeper.alerts import groups as group_svc
from watchkeeper.alerts import integrations as svc
from watchkeeper.alerts.ingest import gate_of
from watchkeeper.alerts.models import AlertGroup, Integration
from watchkeeper.alerts.schemas import (
    AlertGroupDetail,
    AlertGroupOut,
    AlertGroupPage,
    AlertOut,
    GroupEventOut,
    GroupStatus,
    IntegrationCreate,
    IntegrationOut,
    IntegrationUpdate,
    MergeBody,
    SilenceBody,
)
from watchkeeper.alerts.store import Actor
from watchkeeper.api.deps import ContextDep, CurrentPrincipal, NowDep, SessionDep
from watchkeeper.errors import Invalid
from watchkeeper.identity.principal import Principal

router = APIRouter(prefix="/api/v1", tags=["alerts"])


def integration_out(ctx: ContextDep, integration: Integration) -> IntegrationOut:
    return IntegrationOut(
        id=integration.id,
        name=integration.name,
        kind=integration.kind,
        team_id=integration.team_id,
        token=integration.token,
        ingest_url=svc.ingest_url(ctx.settings.base_url, integration),
        templates=integration.templates or {},
        options=integration.options or {},
        maintenance=integration.maintenance,
        rate_limit_per_minute=integration.rate_limit_per_minute,
        heartbeat_interval_seconds=integration.heartbeat_interval_seconds,
        last_heartbeat_at=integration.last_heartbeat_at,
        template_errors=integration.template_errors or [],
        created_at=integration.created_at,
    )


@router.get("/integrations", summary="List integrations")
def list_integrations(
    ctx: ContextDep, session: SessionDep, principal: CurrentPrincipal, team_id: int | None = None
) -> dict[str, list[IntegrationOut]]:
    rows = svc.list_integrations(session, team_id=team_id)
    return {"items": [integration_out(ctx, i) for i in rows]}


@router.post(
    "/integrations",
    response_model=IntegrationOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create an integration; its ingest_url carries the secret token",
)
def create_integration(
    body: IntegrationCreate,
    ctx: ContextDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> IntegrationOut:
    principal.require_team_editor(body.team_id)
    return integration_out(
        ctx, svc.create_integration(session, actor=principal, data=body, now=now)
    )


@router.get("/integrations/{integration_id}", response_model=IntegrationOut)
def get_integration(
    integration_id: int, ctx: ContextDep, session: SessionDep, principal: CurrentPrincipal
) -> IntegrationOut:
    return integration_out(ctx, svc.get_integration(session, integration_id=integration_id))


@router.patch("/integrations/{integration_id}", response_model=IntegrationOut)
def update_integration(
    integration_id: int,
    body: IntegrationUpdate,
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> IntegrationOut:
    current = svc.get_integration(session, integration_id=integration_id)
    principal.require_team_editor(current.team_id)
    if "team_id" in body.model_fields_set:
        principal.require_team_editor(body.team_id)
    integration = svc.update_integration(
        session, actor=principal, integration_id=integration_id, data=body, now=now
    )
    gate_of(request).forget(integration.token)
    return integration_out(ctx, integration)


@router.delete("/integrations/{integration_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_integration(
    integration_id: int,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> None:
    current = svc.get_integration(session, integration_id=integration_id)
    principal.require_team_editor(current.team_id)
    gate_of(request).forget(current.token)
    svc.delete_integration(session, actor=principal, integration_id=integration_id, now=now)


@router.post(
    "/integrations/{integration_id}/test",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send a test alert through this integration",
)
def send_test_alert(
    integration_id: int, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> dict[str, object]:
    integration = svc.get_integration(session, integration_id=integration_id)
    principal.require_team_editor(integration.team_id)
    result = svc.send_test_alert(session, integration=integration, actor=principal, now=now)
    return {"status": "accepted", "group_ids": sorted(result.touched_group_ids)}


# -- alert groups ------------------------------------------------------------


def _actor(principal: Principal) -> Actor:
    return Actor("user", principal.name)


def _require_group_editor(principal: Principal, group: AlertGroup) -> None:
    principal.require_team_editor(group.team_id)


@router.get(
    "/alert-groups",
    response_model=AlertGroupPage,
    summary="Alert groups, newest first, with cursor pagination",
)
def list_alert_groups(
    session: SessionDep,
    principal: CurrentPrincipal,
    status_: Annotated[GroupStatus | None, Query(alias="status")] = None,
    integration_id: int | None = None,
    team_id: int | None = None,
    label: Annotated[list[str], Query(description="name=value; repeat to require several")] = [],  # noqa: B006 - FastAPI copies query defaults
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=group_svc.MAX_PAGE)] = 50,
) -> AlertGroupPage:
    where = group_svc.GroupFilter(
        status=status_,
        integration_id=integration_id,
        team_id=team_id,
        labels=group_svc.parse_label_filters(label),
        created_after=created_after,
        created_before=created_before,
    )
    rows, next_cursor = group_svc.list_groups(session, where=where, cursor=cursor, limit=limit)
    return AlertGroupPage(
        items=[AlertGroupOut.model_validate(r) for r in rows], next_cursor=next_cursor
    )


@router.get("/alert-groups/{group_id}", response_model=AlertGroupDetail)
def get_alert_group(
    group_id: int, session: SessionDep, principal: CurrentPrincipal
) -> AlertGroupDetail:
    group = group_svc.get_group(session, group_id=group_id)
    return AlertGroupDetail(
        **AlertGroupOut.model_validate(group).model_dump(),
        alerts=[
            AlertOut.model_validate(a) for a in group_svc.group_alerts(session, group_id=group_id)
        ],
        timeline=[
            GroupEventOut.model_validate(e)
            for e in group_svc.group_timeline(session, group_id=group_id)
        ],
    )


def _act(session: SessionDep, principal: Principal, group_id: int) -> AlertGroup:
    group = group_svc.get_group(session, group_id=group_id)
    _require_group_editor(principal, group)
    return group


@router.post("/alert-groups/{group_id}/acknowledge", response_model=AlertGroupOut)
def acknowledge(
    group_id: int, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> AlertGroup:
    _act(session, principal, group_id)
    return group_svc.acknowledge(session, group_id=group_id, actor=_actor(principal), now=now)


@router.post("/alert-groups/{group_id}/unacknowledge", response_model=AlertGroupOut)
def unacknowledge(
    group_id: int, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> AlertGroup:
    _act(session, principal, group_id)
    return group_svc.unacknowledge(session, group_id=group_id, actor=_actor(principal), now=now)


@router.post("/alert-groups/{group_id}/resolve", response_model=AlertGroupOut)
def resolve(
    group_id: int, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> AlertGroup:
    _act(session, principal, group_id)
    return group_svc.resolve(session, group_id=group_id, actor=_actor(principal), now=now)


@router.post("/alert-groups/{group_id}/unresolve", response_model=AlertGroupOut)
def unresolve(
    group_id: int, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> AlertGroup:
    _act(session, principal, group_id)
    return group_svc.unresolve(session, group_id=group_id, actor=_actor(principal), now=now)


@router.post(
    "/alert-groups/{group_id}/silence",
    response_model=AlertGroupOut,
    summary="Silence for `minutes` (default 60) or `until` a time; paging pauses meanwhile",
)
def silence(
    group_id: int,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
    body: SilenceBody | None = None,
) -> AlertGroup:
    _act(session, principal, group_id)
    body = body or SilenceBody()
    if body.until is not None and body.minutes is not None:
        raise Invalid("give either minutes or until, not both")
    until = body.until or now + timedelta(minutes=body.minutes or 60)
    return group_svc.silence(
        session, group_id=group_id, until=until, actor=_actor(principal), now=now
    )


@router.post("/alert-groups/{group_id}/unsilence", response_model=AlertGroupOut)
def unsilence(
    group_id: int, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> AlertGroup:
    _act(session, principal, group_id)
    return group_svc.unsilence(session, group_id=group_id, actor=_actor(principal), now=now)


@router.post(
    "/alert-groups/{group_id}/merge",
    response_model=AlertGroupOut,
    summary="Move this group's alerts into another group; answers the absorbing group",
)
def merge(
    group_id: int,
    body: MergeBody,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> AlertGroup:
    _act(session, principal, group_id)
    _act(session, principal, body.into_id)
    return group_svc.merge(
        session, group_id=group_id, into_id=body.into_id, actor=_actor(principal), now=now
    )
