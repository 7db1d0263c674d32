"""Wiring into the escalation engine: its ``declare_incident`` step declares here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from watchkeeper.alerts.models import GroupRow
from watchkeeper.incidents import service


def on_declare_step(session: Session, group: GroupRow, severity: str, now: datetime) -> object:
    """The engine's incident hook: (session, group, severity, now) -> the incident."""
    return service.declare_from_escalation(session, group_id=group.id, severity=severity, now=now)


def register() -> None:
    """Add the hook once; the engine runs every registered hook for the step."""
    from watchkeeper.escalation import runner

    if on_declare_step not in runner.incident_hooks:
        runner.incident_hooks.append(on_declare_step)
