"""Incident roles: commander, communications lead and custom roles, with handovers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper.errors import Invalid, NotFound
from watchkeeper.identity.models import User
from watchkeeper.identity.principal import Principal
from watchkeeper.incidents import timeline
from watchkeeper.incidents.lifecycle import STANDARD_ROLES
from watchkeeper.incidents.models import Incident, IncidentRole


def label(role: str) -> str:
    """How a role is shown: the standard ones by title, custom ones by their name."""
    return STANDARD_ROLES.get(role, role.replace("_", " ").replace("-", " ").capitalize())


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise Invalid(f"user {user_id} is not a user of this Watchkeeper")
    if not user.is_active:
        raise Invalid(f"user {user_id} ({user.email}) is deactivated")
    return user


def assign(
    session: Session,
    *,
    incident: Incident,
    role: str,
    user_id: int,
    actor: Principal,
    now: datetime,
) -> IncidentRole:
    """Give ``role`` to a user; if someone held it, this is a handover."""
    user = _user(session, user_id)
    current = session.get(IncidentRole, (incident.id, role))
    if current is not None and current.user_id == user_id:
        return current
    if current is None:
        current = IncidentRole(incident_id=incident.id, role=role, user_id=user_id)
        session.add(current)
        kind, text, details = (
            "role_assigned",
            f"{label(role)}: {user.name}",
            {"role": role, "user_id": user_id},
        )
    else:
        previous = session.get(User, current.user_id)
        before = previous.name if previous else f"user {current.user_id}"
        kind, text, details = (
            "role_handover",
            f"{label(role)} handed over from {before} to {user.name}",
            {"role": role, "from_user_id": current.user_id, "user_id": user_id},
        )
        current.user_id = user_id
    current.assigned_at = now
    timeline.record(
        session, incident_id=incident.id, kind=kind, actor=actor, at=now, text=text, details=details
    )
    incident.updated_at = now
    session.flush()
    return current


def unassign(
    session: Session, *, incident: Incident, role: str, actor: Principal, now: datetime
) -> None:
    current = session.get(IncidentRole, (incident.id, role))
    if current is None:
        raise NotFound(f"nobody holds the role {role!r} in incident {incident.id}")
    holder = session.get(User, current.user_id)
    session.delete(current)
    timeline.record(
        session,
        incident_id=incident.id,
        kind="role_removed",
        actor=actor,
        at=now,
        text=f"{label(role)} role removed from {holder.name if holder else current.user_id}",
        details={"role": role, "user_id": current.user_id},
    )
    incident.updated_at = now
    session.flush()


def holders(session: Session, *, incident_ids: Sequence[int]) -> list[tuple[IncidentRole, User]]:
    """Role holders of incidents, commander first."""
    rows = session.execute(
        select(IncidentRole, User)
        .join(User, User.id == IncidentRole.user_id)
        .where(IncidentRole.incident_id.in_(incident_ids))
    ).all()
    order = list(STANDARD_ROLES)
    return sorted(
        ((r, u) for r, u in rows),
        key=lambda ru: (order.index(ru[0].role) if ru[0].role in order else 99, ru[0].role),
    )


def commander_id(session: Session, *, incident_id: int) -> int | None:
    row = session.get(IncidentRole, (incident_id, "commander"))
    return row.user_id if row else None
