"""The incident timeline: automatic and human entries, key moments, edits with history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper.errors import NotFound
from watchkeeper.identity.principal import Principal
from watchkeeper.incidents.models import TimelineEntry
from watchkeeper.incidents.schemas import TimelineCreate, TimelineEdit

HUMAN_KINDS = ("note", "decision", "link")
# Automatic entries that are key moments unless someone unpins them: they are
# what a review timeline is built from, so a review starts half written.
PINNED_BY_DEFAULT = frozenset({"declared", "status_changed", "severity_changed"})


def record(
    session: Session,
    *,
    incident_id: int,
    kind: str,
    actor: Principal,
    at: datetime,
    text: str,
    details: dict[str, Any] | None = None,
    pinned: bool | None = None,
) -> TimelineEntry:
    """Append an entry in the caller's transaction."""
    entry = TimelineEntry(
        incident_id=incident_id,
        at=at,
        kind=kind,
        actor_type=actor.kind,
        actor_id=actor.id,
        actor_name=actor.name,
        text=text,
        details=details or {},
        pinned=kind in PINNED_BY_DEFAULT if pinned is None else pinned,
        history=[],
    )
    session.add(entry)
    return entry


def add_human(
    session: Session, *, incident_id: int, actor: Principal, data: TimelineCreate, now: datetime
) -> TimelineEntry:
    """A note, decision or link written by a person."""
    details: dict[str, Any] = {"url": data.url} if data.url else {}
    entry = record(
        session,
        incident_id=incident_id,
        kind=data.kind,
        actor=actor,
        at=data.at or now,
        text=data.text,
        details=details,
        pinned=data.pinned,
    )
    session.flush()
    return entry


def get_entry(session: Session, *, incident_id: int, entry_id: int) -> TimelineEntry:
    entry = session.get(TimelineEntry, entry_id)
    if entry is None or entry.incident_id != incident_id:
        raise NotFound(f"timeline entry {entry_id} does not exist in incident {incident_id}")
    return entry


def edit(
    session: Session,
    *,
    incident_id: int,
    entry_id: int,
    actor: Principal,
    data: TimelineEdit,
    now: datetime,
) -> TimelineEntry:
    """Change text, time or key-moment flag; earlier text and time stay in ``history``."""
    entry = get_entry(session, incident_id=incident_id, entry_id=entry_id)
    new_text = data.text if data.text is not None else entry.text
    new_at = data.at if data.at is not None else entry.at
    if new_text != entry.text or new_at != entry.at:
        previous = {
            "text": entry.text,
            "at": entry.at.isoformat(),
            "edited_at": now.isoformat(),
            "by": actor.name,
        }
        # A new list, so the JSON column sees the change.
        entry.history = [*entry.history, previous]
        entry.text, entry.at = new_text, new_at
    if data.pinned is not None:
        entry.pinned = data.pinned
    session.flush()
    return entry


def list_entries(
    session: Session, *, incident_id: int, pinned_only: bool = False
) -> Sequence[TimelineEntry]:
    query = (
        select(TimelineEntry)
        .where(TimelineEntry.incident_id == incident_id)
        .order_by(TimelineEntry.at, TimelineEntry.id)
    )
    if pinned_only:
        query = query.where(TimelineEntry.pinned.is_(True))
    return session.scalars(query).all()
