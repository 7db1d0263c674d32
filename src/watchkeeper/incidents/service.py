"""Incident services: declare, change details and status, post status updates, subscribe."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper.alerts import store
from watchkeeper.alerts.models import AlertGroup
from watchkeeper.errors import Forbidden, Invalid, NotFound
from watchkeeper.identity.models import Team, User
from watchkeeper.identity.principal import Principal
from watchkeeper.incidents import lifecycle, links, roles, severities, timeline

# Re-exported: callers (the web UI) read linked groups through this module.
from watchkeeper.incidents.links import linked_groups as linked_groups
from watchkeeper.incidents.models import (
    Incident,
    IncidentGroupLink,
    IncidentSeverity,
    IncidentSubscriber,
    Review,
    TimelineEntry,
)
from watchkeeper.incidents.schemas import IncidentCreate, IncidentUpdate

ESCALATION = Principal(kind="system", id=None, name="escalation", role="admin")


def require_editor(principal: Principal, incident: Incident | None, team_id: int | None) -> None:
    """Editors of the incident's team change it (any editor when it has no team)."""
    if principal.is_admin:
        return
    principal.require("editor")
    for wanted in {incident.team_id if incident else None, team_id} - {None}:
        if wanted not in principal.team_ids:
            raise Forbidden(f"you are not a member of team {wanted}, which owns this incident")


def get_incident(session: Session, *, incident_id: int, lock: bool = False) -> Incident:
    query = select(Incident).where(Incident.id == incident_id)
    incident = session.scalar(query.with_for_update() if lock else query)
    if incident is None:
        raise NotFound(f"incident {incident_id} does not exist")
    return incident


def list_incidents(
    session: Session,
    *,
    status: str | None = None,
    active: bool | None = None,
    team_id: int | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> Sequence[Incident]:
    query = select(Incident).order_by(Incident.id.desc()).limit(limit)
    if status:
        query = query.where(Incident.status == status)
    if active is not None:
        states = lifecycle.ACTIVE if active else ("resolved",)
        query = query.where(Incident.status.in_(states))
    if team_id is not None:
        query = query.where(Incident.team_id == team_id)
    if before_id:
        query = query.where(Incident.id < before_id)
    return session.scalars(query).all()


def _check_teams(session: Session, team_ids: Sequence[int]) -> None:
    found = set(session.scalars(select(Team.id).where(Team.id.in_(team_ids))))
    missing = [tid for tid in team_ids if tid not in found]
    if missing:
        raise Invalid(f"team(s) {', '.join(map(str, missing))} do not exist")


def check_user(session: Session, user_id: int, what: str = "user") -> User:
    user = session.get(User, user_id)
    if user is None:
        raise Invalid(f"{what} {user_id} is not a user of this Watchkeeper")
    return user


def declare(
    session: Session,
    *,
    actor: Principal,
    data: IncidentCreate,
    now: datetime,
    source: str = "api",
    note: str = "",
) -> Incident:
    """Open an incident, link its alert groups, make the declarer its commander."""
    level = (
        severities.get_severity(session, name=data.severity)
        if data.severity
        else severities.least_severe(session)
    )
    groups = links.check_groups(session, data.group_ids)
    team_id = data.team_id
    if team_id is None and groups:
        team_id = next((g.team_id for g in groups if g.team_id is not None), None)
    _check_teams(session, [t for t in [team_id, *data.affected_team_ids] if t is not None])
    commander_id = data.commander_id
    if commander_id is None and actor.kind == "user":
        commander_id = actor.id
    incident = Incident(
        title=data.title,
        summary=data.summary,
        severity=level.name,
        status="investigating",
        team_id=team_id,
        affected_services=sorted(set(data.affected_services)),
        affected_team_ids=sorted(set(data.affected_team_ids)),
        labels=data.labels,
        source=source,
        declared_by=actor.name,
        declared_at=now,
        updated_at=now,
        started_at=now,
    )
    session.add(incident)
    session.flush()
    session.add(Review(incident_id=incident.id, version=1, updated_at=now, updated_by=actor.name))
    text = f"Incident declared as {level.name}: {incident.title}"
    timeline.record(
        session,
        incident_id=incident.id,
        kind="declared",
        actor=actor,
        at=now,
        text=f"{text}. {note}".strip() if note else text,
        details={"severity": level.name, "source": source},
    )
    links.link(session, incident=incident, groups=groups, actor=actor, now=now)
    if commander_id is not None:
        roles.assign(
            session, incident=incident, role="commander", user_id=commander_id, actor=actor, now=now
        )
    if actor.kind == "user" and actor.id is not None:
        session.add(IncidentSubscriber(incident_id=incident.id, user_id=actor.id))
    links.refresh_metrics(session, incident)
    store.outbox(session, now, [("incident.declared", None, event_payload(incident))])
    return incident


def declare_from_escalation(
    session: Session, *, group_id: int, severity: str, now: datetime
) -> Incident:
    """The escalation step ``declare_incident``: idempotent per alert group.

    A chain that repeats, or a second process running the same step, finds
    the open incident already linked to the group and gets it back. An
    unknown severity name does not stop the page at 3 a.m.: the incident is
    declared at the most severe level and the timeline says why.
    """
    group = session.get(AlertGroup, group_id)
    if group is None:
        raise NotFound(f"alert group {group_id} does not exist")
    existing = session.scalar(
        select(Incident)
        .join(IncidentGroupLink, IncidentGroupLink.incident_id == Incident.id)
        .where(IncidentGroupLink.group_id == group_id, Incident.status.in_(lifecycle.ACTIVE))
        .order_by(Incident.id)
        .limit(1)
    )
    if existing is not None:
        return existing
    severities.ensure_defaults(session)
    note = ""
    if not any(s.name == severity for s in severities.list_severities(session)):
        fallback = severities.most_severe(session).name
        note = f"The escalation asked for severity {severity!r}, which is not configured."
        severity = fallback
    data = IncidentCreate(
        title=group.title[:300] or f"Alert group {group.id}",
        summary=group.message[:20000],
        severity=severity,
        group_ids=[group.id],
        team_id=group.team_id,
    )
    return declare(session, actor=ESCALATION, data=data, now=now, source="escalation", note=note)


def update_incident(
    session: Session, *, actor: Principal, incident: Incident, data: IncidentUpdate, now: datetime
) -> Incident:
    changes = data.model_dump(exclude_unset=True)
    for key in ("title", "severity", "affected_services", "affected_team_ids", "labels"):
        if key in changes and changes[key] is None:
            raise Invalid(f"{key} cannot be null")
    if "team_id" in changes and changes["team_id"] is not None:
        _check_teams(session, [changes["team_id"]])
    if changes.get("affected_team_ids"):
        _check_teams(session, changes["affected_team_ids"])
        changes["affected_team_ids"] = sorted(set(changes["affected_team_ids"]))
    if changes.get("affected_services") is not None:
        changes["affected_services"] = sorted(set(changes["affected_services"]))
    new_severity = changes.pop("severity", None)
    if new_severity is not None and new_severity != incident.severity:
        level = severities.get_severity(session, name=new_severity)
        timeline.record(
            session,
            incident_id=incident.id,
            kind="severity_changed",
            actor=actor,
            at=now,
            text=f"Severity changed from {incident.severity} to {level.name}",
            details={"from": incident.severity, "to": level.name},
        )
        incident.severity = level.name
    changed = sorted(k for k, v in changes.items() if getattr(incident, k) != v)
    for key in changed:
        setattr(incident, key, changes[key])
    if changed:
        timeline.record(
            session,
            incident_id=incident.id,
            kind="details_changed",
            actor=actor,
            at=now,
            text=f"Changed {', '.join(changed)}",
            details={"fields": changed},
        )
    incident.updated_at = now
    session.flush()
    return incident


def change_status(
    session: Session,
    *,
    actor: Principal,
    incident: Incident,
    status: str,
    message: str,
    now: datetime,
) -> Incident:
    """Move along investigating → identified → monitoring → resolved (see lifecycle)."""
    previous = incident.status
    lifecycle.check_transition(incident.id, previous, status)
    incident.status = status
    incident.updated_at = now
    if status == "monitoring" and incident.mitigated_at is None:
        incident.mitigated_at = now
    review = session.get(Review, incident.id)
    if status == "resolved":
        incident.resolved_at = now
        level = session.get(IncidentSeverity, incident.severity)
        if review is not None and level is not None and level.review_due_days is not None:
            review.due_at = now + timedelta(days=level.review_due_days)
            review.reminder_sent_at = None
    elif previous == "resolved":
        incident.resolved_at = None
        if review is not None:
            review.due_at = None
    text = f"Status changed from {previous} to {status}"
    timeline.record(
        session,
        incident_id=incident.id,
        kind="status_changed",
        actor=actor,
        at=now,
        text=f"{text}: {message}" if message else text,
        details={"from": previous, "to": status, "message": message},
    )
    links.refresh_metrics(session, incident)
    store.outbox(
        session,
        now,
        [("incident.status_changed", None, {**event_payload(incident), "from": previous})],
    )
    return incident


def post_status_update(
    session: Session,
    *,
    actor: Principal,
    incident: Incident,
    text: str,
    status: str | None,
    now: datetime,
) -> TimelineEntry:
    """Write an update for subscribers and chat; the notification engine delivers it."""
    if status is not None and status != incident.status:
        change_status(session, actor=actor, incident=incident, status=status, message="", now=now)
    entry = timeline.record(
        session,
        incident_id=incident.id,
        kind="status_update",
        actor=actor,
        at=now,
        text=text,
        details={"status": incident.status},
    )
    incident.last_update_at = now
    incident.updated_at = now
    subscribers = subscriber_ids(session, incident_id=incident.id)
    payload = {
        **event_payload(incident),
        "text": text,
        "by": actor.name,
        "subscriber_user_ids": subscribers,
    }
    store.outbox(session, now, [("incident.status_update", None, payload)])
    session.flush()
    return entry


def subscriber_ids(session: Session, *, incident_id: int) -> list[int]:
    return sorted(
        session.scalars(
            select(IncidentSubscriber.user_id).where(IncidentSubscriber.incident_id == incident_id)
        )
    )


def subscribe(session: Session, *, incident: Incident, user_id: int, on: bool) -> None:
    row = session.get(IncidentSubscriber, (incident.id, user_id))
    if on and row is None:
        session.add(IncidentSubscriber(incident_id=incident.id, user_id=user_id))
    elif not on and row is not None:
        session.delete(row)
    session.flush()


def event_payload(incident: Incident) -> dict[str, Any]:
    """What every incident.* outbox event carries, so consumers need no lookup."""
    return {
        "incident_id": incident.id,
        "title": incident.title,
        "severity": incident.severity,
        "status": incident.status,
        "team_id": incident.team_id,
        "affected_team_ids": list(incident.affected_team_ids),
    }
