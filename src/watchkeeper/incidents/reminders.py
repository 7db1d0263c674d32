"""Periodic reminders: status updates during an incident, the review after it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper.alerts import store
from watchkeeper.incidents import lifecycle, roles, service
from watchkeeper.incidents.models import Incident, IncidentSeverity, Review

UPDATE_TOPIC = "incident.update_reminder"
REVIEW_TOPIC = "incident.review_reminder"


def update_reminders(session: Session, now: datetime) -> int:
    """Remind an active incident's commander and comms lead when updates are overdue."""
    rows = session.execute(
        select(Incident, IncidentSeverity.update_reminder_minutes)
        .join(IncidentSeverity, IncidentSeverity.name == Incident.severity)
        .where(
            Incident.status.in_(lifecycle.ACTIVE),
            IncidentSeverity.update_reminder_minutes.is_not(None),
        )
        .order_by(Incident.id)
    ).all()
    events = []
    for incident, minutes in rows:
        last = incident.last_update_at or incident.declared_at
        every = timedelta(minutes=minutes or 0)
        if not lifecycle.update_reminder_due(
            last_update_at=last, reminded_at=incident.update_reminder_at, every=every, now=now
        ):
            continue
        incident.update_reminder_at = now
        held = {r.role: r.user_id for r, _ in roles.holders(session, incident_ids=[incident.id])}
        payload = {
            **service.event_payload(incident),
            "minutes_since_update": int((now - last).total_seconds() // 60),
            "every_minutes": minutes,
            "last_update_at": incident.last_update_at.isoformat()
            if incident.last_update_at
            else None,
            "commander_id": held.get("commander"),
            "communications_id": held.get("communications"),
        }
        events.append((UPDATE_TOPIC, None, payload))
    store.outbox(session, now, events)
    return len(events)


def review_reminders(session: Session, now: datetime) -> int:
    """Once a review is overdue and not complete, remind the commander (once)."""
    rows = session.execute(
        select(Incident, Review)
        .join(Review, Review.incident_id == Incident.id)
        .where(
            Incident.status == "resolved",
            Review.status != "complete",
            Review.due_at.is_not(None),
            Review.due_at <= now,
            Review.reminder_sent_at.is_(None),
        )
        .order_by(Incident.id)
    ).all()
    events = []
    for incident, review in rows:
        review.reminder_sent_at = now
        assert review.due_at is not None
        payload = {
            **service.event_payload(incident),
            "due_at": review.due_at.isoformat(),
            "review_status": review.status,
            "commander_id": roles.commander_id(session, incident_id=incident.id),
        }
        events.append((REVIEW_TOPIC, None, payload))
    store.outbox(session, now, events)
    return len(events)
