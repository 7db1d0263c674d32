"""The audit log: who changed what, and when."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper.identity.models import AuditEntry
from watchkeeper.identity.principal import Principal


def record(
    session: Session,
    *,
    actor: Principal,
    action: str,
    object_type: str,
    object_id: object,
    at: datetime,
    details: dict[str, Any] | None = None,
) -> None:
    """Add an audit entry in the caller's transaction, so it commits with the change."""
    session.add(
        AuditEntry(
            at=at,
            actor_type=actor.kind,
            actor_id=actor.id,
            actor_name=actor.name,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            details=details or {},
        )
    )


def list_entries(
    session: Session,
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> Sequence[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if object_type:
        query = query.where(AuditEntry.object_type == object_type)
    if object_id:
        query = query.where(AuditEntry.object_id == object_id)
    if before_id:
        query = query.where(AuditEntry.id < before_id)
    return session.scalars(query).all()
