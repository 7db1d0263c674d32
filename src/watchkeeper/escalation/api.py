"""REST API: escalation chains, routes, and paging actions on alert groups."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select

from watchkeeper.alerts import groups as group_svc
from watchkeeper.alerts import store
from watchkeeper.api.deps import ContextDep, CurrentPrincipal, NowDep, SessionDep
from watchkeeper.errors import Invalid
from watchkeeper.escalation import runner
from watchkeeper.escalation import service as svc
from watchkeeper.escalation.models import Escalation, EscalationChain, Route
from watchkeeper.identity import audit
from watchkeeper.identity.models import User
from watchkeeper.identity.schemas import check_time_zone
from watchkeeper.notify import dispatch
from watchkeeper.notify.models import Delivery

router = APIRouter(prefix="/api/v1", tags=["escalation"])


class ChainIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    team_id: int | None = None
    time_zone: str = "UTC"
    ack_timeout_minutes: int | None = Field(default=None, ge=1, le=10080)
    steps: list[dict[str, Any]] = Field(
        default_factory=list,
        description='e.g. [{"type": "notify_on_call", "schedule_id": 1, "important": true}, '
        '{"type": "wait", "minutes": 5}, {"type": "repeat", "times": 2}]',
    )

    _tz = field_validator("time_zone")(check_time_zone)


class ChainOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    team_id: int | None
    time_zone: str
    ack_timeout_minutes: int | None
    steps: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime


class RouteIn(BaseModel):
    name: str = Field(default="", max_length=200)
    position: int = 0
    matchers: str = Field(default="", max_length=2000, description='e.g. severity="critical"')
    condition_template: str | None = Field(default=None, max_length=4000)
    escalation_chain_id: int | None = None
    chat_destination_ids: list[int] = Field(default_factory=list)
    is_default: bool = False


class RouteOut(RouteIn):
    model_config = ConfigDict(from_attributes=True)

    id: int
    integration_id: int


class PageBody(BaseModel):
    user_ids: list[int] = Field(min_length=1)
    important: bool = True


@router.get("/escalation-chains", summary="List escalation chains")
def list_chains(session: SessionDep, principal: CurrentPrincipal) -> dict[str, list[ChainOut]]:
    return {"items": [ChainOut.model_validate(c) for c in svc.list_chains(session)]}


@router.post("/escalation-chains", response_model=ChainOut, status_code=status.HTTP_201_CREATED)
def create_chain(
    body: ChainIn, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> EscalationChain:
    principal.require_team_editor(body.team_id)
    return svc.save_chain(session, actor=principal, chain=None, values=body.model_dump(), now=now)


@router.get("/escalation-chains/{chain_id}", response_model=ChainOut)
def get_chain(chain_id: int, session: SessionDep, principal: CurrentPrincipal) -> EscalationChain:
    return svc.get_chain(session, chain_id=chain_id)


@router.put("/escalation-chains/{chain_id}", response_model=ChainOut)
def update_chain(
    chain_id: int, body: ChainIn, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> EscalationChain:
    chain = svc.get_chain(session, chain_id=chain_id)
    principal.require_team_editor(chain.team_id)
    principal.require_team_editor(body.team_id)
    return svc.save_chain(session, actor=principal, chain=chain, values=body.model_dump(), now=now)


@router.delete("/escalation-chains/{chain_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_chain(
    chain_id: int, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> None:
    chain = svc.get_chain(session, chain_id=chain_id)
    principal.require_team_editor(chain.team_id)
    session.delete(chain)
    audit.record(
        session,
        actor=principal,
        action="escalation_chain.delete",
        object_type="escalation_chain",
        object_id=chain_id,
        at=now,
    )


@router.get("/integrations/{integration_id}/routes", summary="Routes, in matching order")
def list_routes(
    integration_id: int, session: SessionDep, principal: CurrentPrincipal
) -> dict[str, list[RouteOut]]:
    svc.get_integration(session, integration_id)
    rows = session.scalars(
        select(Route)
        .where(Route.integration_id == integration_id)
        .order_by(Route.position, Route.id)
    ).all()
    return {"items": [RouteOut.model_validate(r) for r in rows]}


@router.post(
    "/integrations/{integration_id}/routes",
    response_model=RouteOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add a route: Alertmanager matchers and/or a template condition",
)
def create_route(
    integration_id: int,
    body: RouteIn,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> Route:
    integration = svc.get_integration(session, integration_id)
    principal.require_team_editor(integration.team_id)
    values = body.model_dump()
    svc.check_route(session, values)
    route = Route(integration_id=integration_id, created_at=now, **values)
    session.add(route)
    session.flush()
    audit.record(
        session,
        actor=principal,
        action="route.create",
        object_type="route",
        object_id=route.id,
        at=now,
        details={"integration_id": integration_id},
    )
    return route


@router.put("/integrations/{integration_id}/routes/{route_id}", response_model=RouteOut)
def update_route(
    integration_id: int,
    route_id: int,
    body: RouteIn,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> Route:
    integration = svc.get_integration(session, integration_id)
    principal.require_team_editor(integration.team_id)
    route = svc.get_route(session, integration_id=integration_id, route_id=route_id)
    values = body.model_dump()
    svc.check_route(session, values)
    for key, value in values.items():
        setattr(route, key, value)
    audit.record(
        session,
        actor=principal,
        action="route.update",
        object_type="route",
        object_id=route.id,
        at=now,
    )
    return route


@router.delete(
    "/integrations/{integration_id}/routes/{route_id}", status_code=status.HTTP_204_NO_CONTENT
)
def delete_route(
    integration_id: int,
    route_id: int,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> None:
    integration = svc.get_integration(session, integration_id)
    principal.require_team_editor(integration.team_id)
    session.delete(svc.get_route(session, integration_id=integration_id, route_id=route_id))
    audit.record(
        session,
        actor=principal,
        action="route.delete",
        object_type="route",
        object_id=route_id,
        at=now,
    )


@router.get(
    "/alert-groups/{group_id}/escalation",
    summary="Escalation progress and every notification attempt for a group",
)
def escalation_of(
    group_id: int, session: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    group_svc.get_group(session, group_id=group_id)
    row = session.scalar(select(Escalation).where(Escalation.group_id == group_id))
    deliveries = session.scalars(
        select(Delivery).where(Delivery.group_id == group_id).order_by(Delivery.id)
    ).all()
    return {
        "escalation": None
        if row is None
        else {
            "status": row.status,
            "chain_id": row.chain_id,
            "chain_name": row.snapshot.get("name"),
            "next_step": row.state.get("step_index"),
            "wake_at": row.wake_at,
            "finished_reason": row.finished_reason,
            "nobody_notified": row.nobody_notified,
        },
        "deliveries": [
            {
                "id": d.id,
                "kind": d.kind,
                "channel": d.channel,
                "user_id": d.user_id,
                "status": d.status,
                "attempts": d.attempts,
                "created_at": d.created_at,
                "sent_at": d.sent_at,
                "provider_response": d.provider_response,
            }
            for d in deliveries
        ],
    }


@router.post(
    "/alert-groups/{group_id}/escalate-now",
    summary="Run the next escalation step now instead of waiting",
)
def escalate_now(
    group_id: int, ctx: ContextDep, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> dict[str, str]:
    group = group_svc.get_group(session, group_id=group_id)
    principal.require_team_editor(group.team_id)
    row = session.scalar(select(Escalation).where(Escalation.group_id == group_id))
    if row is None or row.status == "finished":
        raise Invalid("this group has no running escalation; use page to notify someone")
    row.status = "active"
    state = dict(row.state)
    state["wake_at"] = None
    row.state = state
    row.wake_at = now
    store.add_events(
        session, [(group_id, "escalated_now", store.Actor("user", principal.name), {})], now
    )
    _wake(ctx)
    return {"status": "escalating"}


@router.post("/alert-groups/{group_id}/page", summary="Page someone else about this group")
def page(
    group_id: int,
    body: PageBody,
    ctx: ContextDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> dict[str, Any]:
    group = group_svc.get_group(session, group_id=group_id)
    principal.require_team_editor(group.team_id)
    users = session.scalars(select(User).where(User.id.in_(body.user_ids))).all()
    missing = sorted(set(body.user_ids) - {u.id for u in users})
    if missing:
        raise Invalid(f"user_ids: no user with id {', '.join(map(str, missing))}")
    for user in users:
        dispatch.start_user_notification(
            session,
            group_id=group_id,
            user_id=user.id,
            urgency="important" if body.important else "default",
            cause=f"manual{int(now.timestamp())}",
            now=now,
        )
    store.add_events(
        session,
        [
            (
                group_id,
                "paged",
                store.Actor("user", principal.name),
                {"users": [u.email for u in users]},
            )
        ],
        now,
    )
    _wake(ctx)
    return {"status": "paging", "user_ids": [u.id for u in users]}


def _wake(ctx: ContextDep) -> None:
    engine = ctx.services.get("engine")
    if engine is not None:
        engine.wake()


__all__ = ["router", "runner"]
