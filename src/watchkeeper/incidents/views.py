"""Assemble the API's read models from rows (shared by the API, the CLI and exports)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper.identity.models import Team, User
from watchkeeper.incidents import links, roles, service, timeline
from watchkeeper.incidents import review as pure
from watchkeeper.incidents.models import ActionItem, Incident, IncidentGroupLink, Review
from watchkeeper.incidents.review_schemas import (
    ActionItemOut,
    ContributingFactor,
    ReviewDocument,
    ReviewOut,
    ReviewTimelineItem,
)
from watchkeeper.incidents.schemas import (
    IncidentDetail,
    IncidentOut,
    LinkedGroupOut,
    MetricsOut,
    ParticipantOut,
    RoleOut,
    TimelineEntryOut,
)


def incidents_out(session: Session, incidents: Sequence[Incident]) -> list[IncidentOut]:
    """Many incidents in a fixed number of queries."""
    ids = [i.id for i in incidents]
    if not ids:
        return []
    group_ids: dict[int, list[int]] = {i: [] for i in ids}
    for incident_id, group_id in session.execute(
        select(IncidentGroupLink.incident_id, IncidentGroupLink.group_id)
        .where(IncidentGroupLink.incident_id.in_(ids))
        .order_by(IncidentGroupLink.group_id)
    ):
        group_ids[incident_id].append(group_id)
    held: dict[int, list[RoleOut]] = {i: [] for i in ids}
    for role, user in roles.holders(session, incident_ids=ids):
        held[role.incident_id].append(
            RoleOut(
                role=role.role,
                label=roles.label(role.role),
                user_id=user.id,
                user_name=user.name,
                assigned_at=role.assigned_at,
            )
        )
    team_ids = {i.team_id for i in incidents if i.team_id is not None}
    teams = dict(session.execute(select(Team.id, Team.name).where(Team.id.in_(team_ids))).all())
    impact_ends = dict(
        session.execute(
            select(Review.incident_id, Review.impact_end).where(Review.incident_id.in_(ids))
        ).all()
    )
    return [
        IncidentOut(
            id=i.id,
            title=i.title,
            summary=i.summary,
            severity=i.severity,
            status=i.status,
            team_id=i.team_id,
            team_name=teams.get(i.team_id) if i.team_id is not None else None,
            affected_services=list(i.affected_services),
            affected_team_ids=list(i.affected_team_ids),
            labels=dict(i.labels),
            source=i.source,
            declared_by=i.declared_by,
            declared_at=i.declared_at,
            updated_at=i.updated_at,
            last_update_at=i.last_update_at,
            group_ids=group_ids[i.id],
            roles=held[i.id],
            metrics=MetricsOut(
                started_at=i.started_at,
                acknowledged_at=i.acknowledged_at,
                mitigated_at=impact_ends.get(i.id) or i.mitigated_at,
                resolved_at=i.resolved_at,
                tta_seconds=i.tta_seconds,
                ttm_seconds=i.ttm_seconds,
                ttr_seconds=i.ttr_seconds,
            ),
        )
        for i in incidents
    ]


def incident_out(session: Session, incident: Incident) -> IncidentOut:
    return incidents_out(session, [incident])[0]


def timeline_out(session: Session, *, incident_id: int) -> list[TimelineEntryOut]:
    return [
        TimelineEntryOut.model_validate(e)
        for e in timeline.list_entries(session, incident_id=incident_id)
    ]


def participants(
    session: Session, incident: IncidentOut, entries: Sequence[TimelineEntryOut]
) -> list[ParticipantOut]:
    """Everyone who acted: timeline actors, role holders, acknowledgers of linked groups."""
    groups = links.linked_groups(session, incident_id=incident.id)
    emails = {g.acknowledged_by for g, _ in groups if g.acknowledged_by}
    user_ids = {e.actor_id for e in entries if e.actor_id is not None}
    users = session.scalars(
        select(User).where((User.email.in_(emails)) | (User.id.in_(user_ids)))
    ).all()
    by_email = {u.email: u for u in users}
    acknowledgers = []
    for group, _ in groups:
        if group.acknowledged_by:
            user = by_email.get(group.acknowledged_by)
            acknowledgers.append((group.id, user.id if user else None, group.acknowledged_by))
    return pure.credit_responders(
        entries=entries,
        roles=incident.roles,
        acknowledgers=acknowledgers,
        names={u.id: u.name for u in users},
    )


def incident_detail(session: Session, incident: Incident) -> IncidentDetail:
    base = incident_out(session, incident)
    entries = timeline_out(session, incident_id=incident.id)
    return IncidentDetail(
        **base.model_dump(),
        alert_groups=[
            LinkedGroupOut(
                id=g.id,
                title=g.title,
                status=g.status,
                severity=g.severity,
                created_at=g.created_at,
                acknowledged_by=g.acknowledged_by,
                linked_at=linked_at,
            )
            for g, linked_at in links.linked_groups(session, incident_id=incident.id)
        ],
        participants=participants(session, base, entries),
        subscriber_ids=service.subscriber_ids(session, incident_id=incident.id),
    )


def action_items_out(
    session: Session, items: Sequence[ActionItem], *, today: date
) -> list[ActionItemOut]:
    incident_ids = {a.incident_id for a in items}
    owner_ids = {a.owner_id for a in items if a.owner_id is not None}
    titles = dict(
        session.execute(
            select(Incident.id, Incident.title).where(Incident.id.in_(incident_ids))
        ).all()
    )
    names = dict(session.execute(select(User.id, User.name).where(User.id.in_(owner_ids))).all())
    return [
        ActionItemOut(
            id=a.id,
            incident_id=a.incident_id,
            incident_title=titles.get(a.incident_id, ""),
            title=a.title,
            owner_id=a.owner_id,
            owner_name=names.get(a.owner_id) if a.owner_id is not None else None,
            priority=a.priority,
            due_date=a.due_date,
            status=a.status,
            tracker_url=a.tracker_url,
            created_at=a.created_at,
            updated_at=a.updated_at,
            done_at=a.done_at,
            overdue=is_overdue(a, today),
        )
        for a in items
    ]


def is_overdue(item: ActionItem, today: date) -> bool:
    return (
        item.status in ("open", "in_progress")
        and item.due_date is not None
        and item.due_date < today
    )


def review_document(session: Session, incident: Incident, *, today: date) -> ReviewDocument:
    row = session.get(Review, incident.id)
    assert row is not None, "every incident gets its review row when declared"
    base = incident_out(session, incident)
    entries = timeline_out(session, incident_id=incident.id)
    items = session.scalars(
        select(ActionItem).where(ActionItem.incident_id == incident.id).order_by(ActionItem.id)
    ).all()
    prefilled = row.timeline is None
    review_timeline = (
        pure.prefill_timeline(entries)
        if prefilled
        else [ReviewTimelineItem.model_validate(t) for t in row.timeline or []]
    )
    review = ReviewOut(
        incident_id=incident.id,
        version=row.version,
        status=row.status,
        summary=row.summary,
        customer_impact=row.customer_impact,
        impact_start=row.impact_start,
        impact_end=row.impact_end,
        timeline=review_timeline,
        timeline_prefilled=prefilled,
        contributing_factors=[
            ContributingFactor.model_validate(f) for f in row.contributing_factors
        ],
        what_went_well=row.what_went_well,
        where_we_got_lucky=row.where_we_got_lucky,
        what_could_be_improved=row.what_could_be_improved,
        action_items=action_items_out(session, items, today=today),
        responders=participants(session, base, entries),
        due_at=row.due_at,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )
    return ReviewDocument(incident=base, review=review)
