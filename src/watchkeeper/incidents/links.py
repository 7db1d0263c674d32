"""Alert groups linked to incidents, and the metrics that depend on them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from watchkeeper.alerts.models import AlertGroup, GroupEvent
from watchkeeper.errors import Invalid, NotFound
from watchkeeper.identity.principal import Principal
from watchkeeper.incidents import lifecycle, timeline
from watchkeeper.incidents.models import Incident, IncidentGroupLink, Review


def check_groups(session: Session, group_ids: Sequence[int]) -> list[AlertGroup]:
    wanted = list(dict.fromkeys(group_ids))
    found = {g.id: g for g in session.scalars(select(AlertGroup).where(AlertGroup.id.in_(wanted)))}
    missing = [gid for gid in wanted if gid not in found]
    if missing:
        raise Invalid(f"alert group(s) {', '.join(map(str, missing))} do not exist")
    return [found[gid] for gid in wanted]


def group_text(group: AlertGroup) -> str:
    return f"alert group #{group.id} ({group.status}): {group.title}"


def link(
    session: Session,
    *,
    incident: Incident,
    groups: Sequence[AlertGroup],
    actor: Principal,
    now: datetime,
) -> list[AlertGroup]:
    linked = set(
        session.scalars(
            select(IncidentGroupLink.group_id).where(IncidentGroupLink.incident_id == incident.id)
        )
    )
    added = [g for g in groups if g.id not in linked]
    for group in added:
        session.add(
            IncidentGroupLink(
                incident_id=incident.id, group_id=group.id, linked_at=now, linked_by=actor.name
            )
        )
        timeline.record(
            session,
            incident_id=incident.id,
            kind="group_linked",
            actor=actor,
            at=now,
            text=f"Linked {group_text(group)}",
            details={"group_id": group.id, "group_status": group.status},
        )
    session.flush()
    return added


def link_groups(
    session: Session,
    *,
    actor: Principal,
    incident: Incident,
    group_ids: Sequence[int],
    now: datetime,
) -> list[AlertGroup]:
    groups = check_groups(session, group_ids)
    added = link(session, incident=incident, groups=groups, actor=actor, now=now)
    incident.updated_at = now
    refresh_metrics(session, incident)
    return added


def unlink_group(
    session: Session, *, actor: Principal, incident: Incident, group_id: int, now: datetime
) -> None:
    link = session.get(IncidentGroupLink, (incident.id, group_id))
    if link is None:
        raise NotFound(f"alert group {group_id} is not linked to incident {incident.id}")
    session.delete(link)
    timeline.record(
        session,
        incident_id=incident.id,
        kind="group_unlinked",
        actor=actor,
        at=now,
        text=f"Unlinked alert group #{group_id}",
        details={"group_id": group_id},
    )
    incident.updated_at = now
    session.flush()
    refresh_metrics(session, incident)


def linked_groups(session: Session, *, incident_id: int) -> list[tuple[AlertGroup, datetime]]:
    rows = session.execute(
        select(AlertGroup, IncidentGroupLink.linked_at)
        .join(IncidentGroupLink, IncidentGroupLink.group_id == AlertGroup.id)
        .where(IncidentGroupLink.incident_id == incident_id)
        .order_by(AlertGroup.id)
    ).all()
    return [(group, at) for group, at in rows]


def refresh_metrics(session: Session, incident: Incident) -> None:
    """Recompute the stored metrics from linked groups, review and status times."""
    session.flush()
    groups = [g for g, _ in linked_groups(session, incident_id=incident.id)]
    first_acks = dict(
        session.execute(
            select(GroupEvent.group_id, func.min(GroupEvent.at))
            .where(GroupEvent.group_id.in_([g.id for g in groups]))
            .where(GroupEvent.kind == "acknowledged")
            .group_by(GroupEvent.group_id)
        ).all()
    )
    review = session.get(Review, incident.id)
    result = lifecycle.compute_metrics(
        declared_at=incident.declared_at,
        groups=[
            lifecycle.GroupTimes(g.created_at, first_acks.get(g.id) or g.acknowledged_at)
            for g in groups
        ],
        mitigated_at=incident.mitigated_at,
        impact_end=review.impact_end if review else None,
        resolved_at=incident.resolved_at,
    )
    incident.started_at = result.started_at
    incident.acknowledged_at = result.acknowledged_at
    incident.tta_seconds = result.tta_seconds
    incident.ttm_seconds = result.ttm_seconds
    incident.ttr_seconds = result.ttr_seconds
