"""Escalation chains and routes: validation and storage."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper.alerts.models import Integration
from watchkeeper.alerts.templating import template_error
from watchkeeper.errors import Invalid, NotFound
from watchkeeper.escalation.models import EscalationChain, Route
from watchkeeper.escalation.steps import (
    ChainError,
    ChainSnapshot,
    NotifyOnCall,
    NotifyRoundRobin,
    NotifyTeam,
    NotifyUsers,
    TriggerWebhook,
    step_from_json,
)
from watchkeeper.identity import audit
from watchkeeper.identity.models import Team, User
from watchkeeper.identity.principal import Principal
from watchkeeper.notify.models import ChatDestination, OutgoingWebhook
from watchkeeper.routing.matchers import MatcherError, parse_matchers


def check_steps(session: Session, steps: Sequence[dict[str, Any]], time_zone: str) -> None:
    """Raise Invalid naming the step when a step is malformed or points at nothing."""
    try:
        parsed = tuple(step_from_json(s) for s in steps)
        ChainSnapshot(chain_id=0, name="check", time_zone=time_zone, steps=parsed)
    except ChainError as exc:
        raise Invalid(f"steps: {exc}") from None
    from watchkeeper.schedules.models import Schedule

    for index, step in enumerate(parsed):
        where = f"steps[{index}] ({step.type})"
        if isinstance(step, NotifyUsers | NotifyRoundRobin):
            found = set(session.scalars(select(User.id).where(User.id.in_(step.user_ids))))
            missing = sorted(set(step.user_ids) - found)
            if missing:
                raise Invalid(f"{where}: no user with id {', '.join(map(str, missing))}")
        elif isinstance(step, NotifyOnCall) and session.get(Schedule, step.schedule_id) is None:
            raise Invalid(f"{where}: schedule {step.schedule_id} does not exist")
        elif isinstance(step, NotifyTeam) and session.get(Team, step.team_id) is None:
            raise Invalid(f"{where}: team {step.team_id} does not exist")
        elif (
            isinstance(step, TriggerWebhook)
            and session.get(OutgoingWebhook, step.webhook_id) is None
        ):
            raise Invalid(f"{where}: outgoing webhook {step.webhook_id} does not exist")


def get_chain(session: Session, *, chain_id: int) -> EscalationChain:
    chain = session.get(EscalationChain, chain_id)
    if chain is None:
        raise NotFound(f"escalation chain {chain_id} does not exist")
    return chain


def list_chains(session: Session) -> Sequence[EscalationChain]:
    return session.scalars(select(EscalationChain).order_by(EscalationChain.id)).all()


def save_chain(
    session: Session,
    *,
    actor: Principal,
    chain: EscalationChain | None,
    values: dict[str, Any],
    now: datetime,
) -> EscalationChain:
    team_id = values.get("team_id", chain.team_id if chain else None)
    if team_id is not None and session.get(Team, team_id) is None:
        raise Invalid(f"team_id: team {team_id} does not exist")
    time_zone = values.get("time_zone", chain.time_zone if chain else "UTC")
    steps = values.get("steps", chain.steps if chain else [])
    check_steps(session, steps, time_zone)
    created = chain is None
    if chain is None:
        chain = EscalationChain(created_at=now, round_robin_offset=0)
        session.add(chain)
    for key in ("name", "team_id", "time_zone", "ack_timeout_minutes"):
        if key in values:
            setattr(chain, key, values[key])
    chain.steps = list(steps)
    chain.updated_at = now
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="escalation_chain.create" if created else "escalation_chain.update",
        object_type="escalation_chain",
        object_id=chain.id,
        at=now,
        details={"name": chain.name, "steps": len(chain.steps)},
    )
    return chain


def check_route(session: Session, values: dict[str, Any]) -> None:
    if values.get("matchers"):
        try:
            parse_matchers(values["matchers"])
        except MatcherError as exc:
            raise Invalid(f"matchers: {exc}") from None
    if values.get("condition_template"):
        error = template_error(values["condition_template"])
        if error:
            raise Invalid(f"condition_template: {error}")
    chain_id = values.get("escalation_chain_id")
    if chain_id is not None and session.get(EscalationChain, chain_id) is None:
        raise Invalid(f"escalation_chain_id: chain {chain_id} does not exist")
    for destination_id in values.get("chat_destination_ids") or []:
        if session.get(ChatDestination, destination_id) is None:
            raise Invalid(f"chat_destination_ids: destination {destination_id} does not exist")


def get_integration(session: Session, integration_id: int) -> Integration:
    integration = session.get(Integration, integration_id)
    if integration is None:
        raise NotFound(f"integration {integration_id} does not exist")
    return integration


def get_route(session: Session, *, integration_id: int, route_id: int) -> Route:
    route = session.get(Route, route_id)
    if route is None or route.integration_id != integration_id:
        raise NotFound(f"route {route_id} of integration {integration_id} does not exist")
    return route
