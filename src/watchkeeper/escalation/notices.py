"""Notices that are not pages: incident updates and reminders, shift reminders, gap warnings.

Other domains write these as outbox events; the engine turns each into
deliveries to people's verified contact methods (all of them, since these are
informational and have no escalation) and, where it makes sense, to the chat
destinations of the teams concerned.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper.identity.models import TeamMembership
from watchkeeper.notify import dispatch
from watchkeeper.notify.models import ChatDestination, ContactMethod

TOPICS = frozenset(
    {
        "incident.declared",
        "incident.status_update",
        "incident.update_reminder",
        "incident.review_reminder",
        "schedule.shift_starts_soon",
        "schedule.gap_within_48h",
    }
)


def _when(value: object) -> str:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).strftime("%a %d %b %H:%M UTC")
        except ValueError:
            return value
    return str(value)


def _plan(
    session: Session, topic: str, payload: dict[str, Any], base_url: str
) -> tuple[str, str, str, list[int], list[int]]:
    """(title, summary, url, user ids, team ids for chat) for one notice."""
    if topic.startswith("incident."):
        ref = f"INC-{payload.get('incident_id')} {payload.get('title', '')}".strip()
        url = f"{base_url}/incidents/{payload.get('incident_id')}"
        teams = [t for t in [payload.get("team_id"), *payload.get("affected_team_ids", [])] if t]
        if topic == "incident.status_update":
            return (
                f"Update on {ref}",
                str(payload.get("text", "")),
                url,
                list(payload.get("subscriber_user_ids", [])),
                teams,
            )
        if topic == "incident.declared":
            return (
                f"Incident declared: {ref} ({payload.get('severity')})",
                "Follow it in Watchkeeper.",
                url,
                [],
                teams,
            )
        if topic == "incident.update_reminder":
            people = [payload.get("commander_id"), payload.get("communications_id")]
            return (
                f"No status update on {ref} for {payload.get('minutes_since_update')} minutes",
                "Post an update so subscribers know where things stand.",
                url,
                [p for p in people if p],
                [],
            )
        return (
            f"The review of {ref} is due",
            f"It was due {_when(payload.get('due_at'))}.",
            url,
            [p for p in [payload.get("commander_id")] if p],
            [],
        )
    schedule = str(payload.get("schedule_name", "a schedule"))
    url = f"{base_url}/schedules/{payload.get('schedule_id')}"
    if topic == "schedule.shift_starts_soon":
        return (
            f"Your on-call shift in {schedule} starts {_when(payload.get('start'))}",
            f"Until {_when(payload.get('end'))}.",
            url,
            list(payload.get("user_ids", [])),
            [],
        )
    from watchkeeper.schedules.models import Schedule

    row = session.get(Schedule, payload.get("schedule_id"))
    team_id = row.team_id if row is not None else None
    members = (
        list(
            session.scalars(select(TeamMembership.user_id).where(TeamMembership.team_id == team_id))
        )
        if team_id
        else []
    )
    return (
        f"Nobody is on call in {schedule} from {_when(payload.get('start'))}",
        f"Gap until {_when(payload.get('end'))} ({payload.get('hours')} h). "
        "Add an override before it starts.",
        url,
        members,
        [team_id] if team_id else [],
    )


def deliver(
    session: Session,
    *,
    event_id: int,
    topic: str,
    payload: dict[str, Any],
    now: datetime,
    base_url: str,
) -> int:
    """Queue the deliveries for one notice; idempotent per event."""
    title, summary, url, user_ids, team_ids = _plan(session, topic, payload, base_url)
    kind = "status_update" if topic == "incident.status_update" else "notice"
    rows: list[dict[str, Any]] = []

    def message(key: str, message_kind: str) -> dict[str, Any]:
        return {
            "title": title,
            "severity": "info",
            "summary": summary,
            "group_url": url,
            "idempotency_key": key,
            "kind": message_kind,
        }

    for method in _verified(session, set(user_ids)):
        key = f"ev{event_id}:u{method.user_id}:cm{method.id}"
        rows.append(
            {
                "idempotency_key": key,
                "user_id": method.user_id,
                "contact_method_id": method.id,
                "channel": method.type,
                "kind": kind,
                "message": message(key, "status_update"),
            }
        )
    if team_ids:
        destinations = session.scalars(
            select(ChatDestination).where(ChatDestination.team_id.in_(team_ids))
        ).all()
        for destination in destinations:
            key = f"ev{event_id}:chat:d{destination.id}"
            rows.append(
                {
                    "idempotency_key": key,
                    "chat_destination_id": destination.id,
                    "channel": destination.type,
                    "kind": "chat",
                    "message": message(key, "chat"),
                }
            )
    return dispatch.queue_deliveries(session, rows, now=now)


def _verified(session: Session, user_ids: Iterable[int]) -> list[ContactMethod]:
    ids = list(user_ids)
    if not ids:
        return []
    return list(
        session.scalars(
            select(ContactMethod)
            .where(ContactMethod.user_id.in_(ids), ContactMethod.verified.is_(True))
            .order_by(ContactMethod.id)
        )
    )
