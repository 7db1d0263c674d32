"""Alert group queries and lifecycle actions (acknowledge, resolve, silence, merge, ...)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from watchkeeper.alerts import store
from watchkeeper.alerts.models import Alert, AlertGroup, GroupEvent
from watchkeeper.alerts.store import Actor
from watchkeeper.errors import BadRequest, Conflict, Invalid, NotFound

MAX_PAGE = 500


@dataclass(frozen=True)
class GroupFilter:
    status: str | None = None
    integration_id: int | None = None
    team_id: int | None = None
    labels: tuple[tuple[str, str], ...] = ()
    created_after: datetime | None = None
    created_before: datetime | None = None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"id": last_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded))["id"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise BadRequest("cursor is not valid; pass next_cursor from the previous page") from exc
    if not isinstance(value, int):
        raise BadRequest("cursor is not valid; pass next_cursor from the previous page")
    return value


def parse_label_filters(values: Sequence[str]) -> tuple[tuple[str, str], ...]:
    pairs = []
    for value in values:
        name, sep, wanted = value.partition("=")
        if not sep or not name:
            raise BadRequest(f"label filter {value!r} must look like name=value")
        pairs.append((name, wanted))
    return tuple(pairs)


def list_groups(
    session: Session, *, where: GroupFilter, cursor: str | None, limit: int
) -> tuple[Sequence[AlertGroup], str | None]:
    """Newest first, by id, so pages are stable while new groups arrive."""
    query = select(AlertGroup).order_by(AlertGroup.id.desc()).limit(limit + 1)
    if cursor:
        query = query.where(AlertGroup.id < decode_cursor(cursor))
    if where.status:
        query = query.where(AlertGroup.status == where.status)
    if where.integration_id is not None:
        query = query.where(AlertGroup.integration_id == where.integration_id)
    if where.team_id is not None:
        query = query.where(AlertGroup.team_id == where.team_id)
    for name, value in where.labels:
        query = query.where(AlertGroup.labels[name].as_string() == value)
    if where.created_after:
        query = query.where(AlertGroup.created_at >= where.created_after)
    if where.created_before:
        query = query.where(AlertGroup.created_at < where.created_before)
    rows = session.scalars(query).all()
    if len(rows) > limit:
        return rows[:limit], encode_cursor(rows[limit - 1].id)
    return rows, None


def get_group(session: Session, *, group_id: int) -> AlertGroup:
    group = session.get(AlertGroup, group_id)
    if group is None:
        raise NotFound(f"alert group {group_id} does not exist")
    return group


def group_alerts(session: Session, *, group_id: int, limit: int = 500) -> Sequence[Alert]:
    return session.scalars(
        select(Alert).where(Alert.group_id == group_id).order_by(Alert.id.desc()).limit(limit)
    ).all()


def group_timeline(session: Session, *, group_id: int) -> Sequence[GroupEvent]:
    return session.scalars(
        select(GroupEvent).where(GroupEvent.group_id == group_id).order_by(GroupEvent.id)
    ).all()


def _locked(session: Session, group_id: int) -> AlertGroup:
    group = session.scalar(select(AlertGroup).where(AlertGroup.id == group_id).with_for_update())
    if group is None:
        raise NotFound(f"alert group {group_id} does not exist")
    return group


def _event(
    session: Session, group: AlertGroup, kind: str, actor: Actor, now: datetime, **details: object
) -> None:
    store.add_events(session, [(group.id, kind, actor, dict(details))], now)
    store.outbox(session, now, [(f"group.{kind}", group.id, {"by": actor.name, **details})])


def acknowledge(session: Session, *, group_id: int, actor: Actor, now: datetime) -> AlertGroup:
    group = _locked(session, group_id)
    if group.status == "resolved":
        raise Conflict(f"alert group {group_id} is resolved; unresolve it first")
    if group.status == "acknowledged":
        return group
    group.status = "acknowledged"
    group.acknowledged_at = now
    group.acknowledged_by = actor.name
    group.silenced_until = None
    group.updated_at = now
    _event(session, group, "acknowledged", actor, now)
    return group


def unacknowledge(session: Session, *, group_id: int, actor: Actor, now: datetime) -> AlertGroup:
    group = _locked(session, group_id)
    if group.status != "acknowledged":
        raise Conflict(f"alert group {group_id} is {group.status}, not acknowledged")
    group.status = "firing"
    group.acknowledged_at = None
    group.acknowledged_by = None
    group.updated_at = now
    _event(session, group, "unacknowledged", actor, now)
    return group


def resolve(session: Session, *, group_id: int, actor: Actor, now: datetime) -> AlertGroup:
    group = _locked(session, group_id)
    if group.status != "resolved":
        store.resolve_groups(session, group_ids=[group_id], actor=actor, now=now)
        session.refresh(group)
    return group


def unresolve(session: Session, *, group_id: int, actor: Actor, now: datetime) -> AlertGroup:
    group = _locked(session, group_id)
    if group.status != "resolved":
        raise Conflict(f"alert group {group_id} is {group.status}, not resolved")
    if group.merged_into_id is not None:
        raise Conflict(f"alert group {group_id} was merged into {group.merged_into_id}")
    other = session.scalar(
        select(AlertGroup.id).where(
            AlertGroup.integration_id == group.integration_id,
            AlertGroup.open_key == group.group_key,
        )
    )
    if other is not None:
        raise Conflict(
            f"alert group {other} is already open for the same key; merge into it instead"
        )
    group.status = "firing"
    group.open_key = group.group_key
    group.resolved_at = None
    group.resolved_by = None
    group.acknowledged_at = None
    group.acknowledged_by = None
    group.updated_at = now
    _event(session, group, "unresolved", actor, now)
    return group


def silence(
    session: Session, *, group_id: int, until: datetime, actor: Actor, now: datetime
) -> AlertGroup:
    if until <= now:
        raise Invalid("a silence must end in the future")
    group = _locked(session, group_id)
    if group.status == "resolved":
        raise Conflict(f"alert group {group_id} is resolved; there is nothing to silence")
    group.status = "silenced"
    group.silenced_until = until
    group.updated_at = now
    _event(session, group, "silenced", actor, now, until=until.isoformat())
    return group


def unsilence(session: Session, *, group_id: int, actor: Actor, now: datetime) -> AlertGroup:
    group = _locked(session, group_id)
    if group.status != "silenced":
        raise Conflict(f"alert group {group_id} is {group.status}, not silenced")
    _end_silence(group, now)
    _event(session, group, "unsilenced", actor, now)
    return group


def _end_silence(group: AlertGroup, now: datetime) -> None:
    group.status = "acknowledged" if group.acknowledged_at else "firing"
    group.silenced_until = None
    group.updated_at = now


def expire_silences(session: Session, *, now: datetime, limit: int = 1000) -> list[int]:
    """Silences that have ended put their groups back to firing (or acknowledged)."""
    groups = session.scalars(
        select(AlertGroup)
        .where(AlertGroup.status == "silenced", AlertGroup.silenced_until <= now)
        .limit(limit)
    ).all()
    system = Actor("system", "silence expired")
    for group in groups:
        _end_silence(group, now)
        _event(session, group, "unsilenced", system, now)
    return [g.id for g in groups]


def merge(
    session: Session, *, group_id: int, into_id: int, actor: Actor, now: datetime
) -> AlertGroup:
    """Move every alert of one group into another and close the first."""
    if group_id == into_id:
        raise Invalid("a group cannot be merged into itself")
    source = _locked(session, group_id)
    target = _locked(session, into_id)
    if target.status == "resolved":
        raise Conflict(f"alert group {into_id} is resolved; merge into an open group")
    if source.merged_into_id is not None:
        raise Conflict(f"alert group {group_id} was already merged into {source.merged_into_id}")
    moved = session.execute(
        update(Alert).where(Alert.group_id == group_id).values(group_id=into_id)
    ).rowcount  # type: ignore[attr-defined]
    source.status = "resolved"
    source.open_key = None
    source.merged_into_id = into_id
    source.resolved_at = now
    source.resolved_by = actor.name
    source.updated_at = now
    target.updated_at = now
    store.add_events(
        session,
        [
            (group_id, "merged", actor, {"into_id": into_id, "alerts": moved}),
            (into_id, "absorbed", actor, {"from_id": group_id, "alerts": moved}),
        ],
        now,
    )
    store.outbox(session, now, [("group.merged", group_id, {"into_id": into_id})])
    session.flush()
    store.refresh_groups(session, group_ids=[into_id], actor=actor, now=now)
    session.refresh(target)
    return target


def quiet_groups(integration_id: int, before: datetime) -> Select[int]:
    """Open groups of an integration with no new alert since ``before``."""
    return select(AlertGroup.id).where(
        AlertGroup.integration_id == integration_id,
        # Open groups are the ones with an open key: this term lets the unique
        # (integration, open_key) index skip the integration's resolved history,
        # which "status != resolved" alone made a scan of (52 ms at 300,000).
        AlertGroup.open_key.is_not(None),
        AlertGroup.status != "resolved",
        AlertGroup.last_alert_at <= before,
    )


def auto_resolve_quiet(session: Session, *, now: datetime) -> list[int]:
    """Resolve groups of integrations with auto_resolve_minutes that went quiet."""
    from watchkeeper.alerts.models import Integration

    ids: list[int] = []
    integrations = session.execute(select(Integration.id, Integration.options)).all()
    for integration_id, options in integrations:
        minutes = (options or {}).get("auto_resolve_minutes")
        if not isinstance(minutes, int) or minutes <= 0:
            continue
        quiet = session.scalars(
            quiet_groups(integration_id, now - timedelta(minutes=minutes))
        ).all()
        ids += store.resolve_groups(
            session, group_ids=list(quiet), actor=Actor("system", "auto-resolve"), now=now
        )
    return ids


def count_by_status(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(AlertGroup.status, func.count()).group_by(AlertGroup.status)
    ).all()
    return {str(status): int(count) for status, count in rows}
