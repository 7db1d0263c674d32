"""Severity levels: configurable, with SEV1-SEV4 as the defaults."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from watchkeeper.errors import Conflict, Invalid, NotFound
from watchkeeper.incidents.models import Incident, IncidentSeverity
from watchkeeper.incidents.schemas import SeverityIn

# name, rank, description, update reminder minutes, review due days.
# Migration 0005 writes the same rows; they are repeated here so an emptied
# table (a fresh test database, say) still has levels to declare with.
DEFAULTS: tuple[tuple[str, int, str, int | None, int | None], ...] = (
    ("SEV1", 1, "Critical: the service is down or data is at risk for many customers.", 15, 3),
    ("SEV2", 2, "Major: a core feature is broken or badly degraded for many customers.", 30, 5),
    ("SEV3", 3, "Minor: partial degradation with a workaround, or few customers hit.", 60, 10),
    ("SEV4", 4, "Low: no customer impact yet; a risk worth coordinating on.", None, None),
)


def default_rows() -> list[IncidentSeverity]:
    return [
        IncidentSeverity(
            name=name,
            rank=rank,
            description=text,
            update_reminder_minutes=minutes,
            review_due_days=days,
        )
        for name, rank, text, minutes, days in DEFAULTS
    ]


def list_severities(session: Session) -> Sequence[IncidentSeverity]:
    """Configured levels by rank; the defaults (unsaved) when none are configured."""
    rows = session.scalars(
        select(IncidentSeverity).order_by(IncidentSeverity.rank, IncidentSeverity.name)
    ).all()
    return rows or default_rows()


def ensure_defaults(session: Session) -> None:
    """Write the default levels when the table is empty (call in write sessions)."""
    if session.scalar(select(func.count()).select_from(IncidentSeverity)):
        return
    session.add_all(default_rows())
    session.flush()


def get_severity(session: Session, *, name: str) -> IncidentSeverity:
    ensure_defaults(session)
    row = session.get(IncidentSeverity, name)
    if row is None:
        known = ", ".join(s.name for s in list_severities(session))
        raise Invalid(f"unknown severity {name!r}; configured levels: {known}")
    return row


def least_severe(session: Session) -> IncidentSeverity:
    ensure_defaults(session)
    return list_severities(session)[-1]


def most_severe(session: Session) -> IncidentSeverity:
    ensure_defaults(session)
    return list_severities(session)[0]


def put_severity(session: Session, *, name: str, data: SeverityIn) -> IncidentSeverity:
    ensure_defaults(session)
    row = session.get(IncidentSeverity, name)
    if row is None:
        row = IncidentSeverity(name=name)
        session.add(row)
    row.rank = data.rank
    row.description = data.description
    row.update_reminder_minutes = data.update_reminder_minutes
    row.review_due_days = data.review_due_days
    session.flush()
    return row


def delete_severity(session: Session, *, name: str) -> None:
    ensure_defaults(session)
    row = session.get(IncidentSeverity, name)
    if row is None:
        raise NotFound(f"severity {name!r} does not exist")
    used = session.scalar(select(func.count()).where(Incident.severity == name))
    if used:
        raise Conflict(f"severity {name!r} is used by {used} incident(s); rename or keep it")
    if session.scalar(select(func.count()).select_from(IncidentSeverity)) == 1:
        raise Conflict("the last severity level cannot be deleted")
    session.delete(row)
