"""The alert store: commit normalized alerts, deduplicated and grouped, in one transaction.

Set-based on purpose: one ingest request of N alerts costs a fixed handful of
statements (select the open groups and alerts it touches, insert what is new,
update what repeats, recount the touched groups), never a query per alert.
The caller owns the transaction; the sender's 2xx comes only after it commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, func, select, update
from sqlalchemy.orm import Session

from watchkeeper.alerts.models import (
    GROUP_ROW_FIELDS,
    Alert,
    AlertGroup,
    GroupEvent,
    GroupRow,
    Integration,
    OutboxEvent,
    RawPayload,
)
from watchkeeper.alerts.normalized import NormalizedAlert
from watchkeeper.db.bulk import BulkInsert, BulkUpdate, Pipeline, among
from watchkeeper.db.engine import request_wake

ALERTS = cast(Table, Alert.__table__)
GROUPS = cast(Table, AlertGroup.__table__)
PAYLOADS = cast(Table, RawPayload.__table__)
EVENTS = cast(Table, GroupEvent.__table__)
OUTBOX = cast(Table, OutboxEvent.__table__)

_NEW_EVENTS = BulkInsert(EVENTS, ("group_id", "at", "kind", "actor_type", "actor_name", "details"))
_NEW_OUTBOX = BulkInsert(OUTBOX, ("at", "topic", "group_id", "payload"))
# Group counters moved by deltas: one statement for every group of a commit
# on PostgreSQL (one UPDATE per group, as before, cost the server about
# 130 µs each to parse, plan and run: ten per Prometheus commit). A group
# that got an alert firing takes the time as its last alert's (else None).
_COUNTERS = BulkUpdate(
    GROUPS,
    ("alerts_count", "firing_count", "last_alert_at", "updated_at"),
    combine={
        "alerts_count": "{old} + {new}",
        "firing_count": "{old} + {new}",
        "last_alert_at": "coalesce({new}, {old})",
    },
)

# What ingest runs when groups resolve or are acknowledged, built once:
# SQLAlchemy's IN (…) makes a small reference cycle each time it is
# constructed, which only the cyclic collector frees (see db.bulk.among).
_NONE_FIRING_AMONG = select(GROUPS.c.id).where(
    among(GROUPS.c.id, "ids"),
    GROUPS.c.firing_count <= 0,
    GROUPS.c.status != "resolved",
)
_OPEN_AMONG = select(GROUPS.c.id).where(among(GROUPS.c.id, "ids"), GROUPS.c.status != "resolved")
_RESOLVE_ALERTS = (
    update(ALERTS)
    .where(among(ALERTS.c.group_id, "ids"), ALERTS.c.status == "firing")
    .values(status="resolved", open_fingerprint=None, resolved_at=bindparam("now"))
)
_RESOLVE_GROUPS = (
    update(GROUPS)
    .where(among(GROUPS.c.id, "ids"))
    .values(
        status="resolved",
        open_key=None,
        resolved_at=bindparam("now"),
        resolved_by=bindparam("by"),
        firing_count=0,
        silenced_until=None,
        updated_at=bindparam("now"),
    )
)
_FIRING_AMONG = select(GROUPS.c.id).where(among(GROUPS.c.id, "ids"), GROUPS.c.status == "firing")
_ACKNOWLEDGE = (
    update(GROUPS)
    .where(among(GROUPS.c.id, "ids"))
    .values(
        status="acknowledged",
        acknowledged_at=bindparam("now"),
        acknowledged_by=bindparam("by"),
        updated_at=bindparam("now"),
    )
)

# GroupRow's columns, in its field order (see group_rows).
GROUP_ROW_COLUMNS = tuple(GROUPS.c[name] for name in GROUP_ROW_FIELDS)

# The one outbox topic that does not need the engine at once.
QUIET_TOPIC = "group.alert_added"
SEVERITY_RANK = {"critical": 0, "error": 1, "warning": 2, "info": 3}


@dataclass(frozen=True)
class Actor:
    """Who caused a group change, as shown on the timeline."""

    type: str  # "user" | "integration" | "system"
    name: str


@dataclass
class IngestResult:
    payload_id: int
    created_group_ids: list[int] = field(default_factory=list)
    touched_group_ids: set[int] = field(default_factory=set)
    resolved_group_ids: list[int] = field(default_factory=list)
    acknowledged_group_ids: list[int] = field(default_factory=list)
    new_alerts: int = 0
    repeated_alerts: int = 0
    resolved_alerts: int = 0
    ignored_alerts: int = 0
    fingerprints: list[str] = field(default_factory=list)


_GROUP_ROWS = select(*GROUP_ROW_COLUMNS).where(among(GROUPS.c.id, "ids"))


def group_rows(session: Session, ids: Iterable[int]) -> dict[int, GroupRow]:
    """The groups with these ids (those that exist), as plain rows by id."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {row[0]: GroupRow(*row) for row in session.execute(_GROUP_ROWS, {"ids": wanted})}


def link_dicts(alert: NormalizedAlert) -> list[dict[str, str]]:
    return [{"title": link.title, "url": link.url} for link in alert.links]


def common_labels(alerts: Sequence[NormalizedAlert]) -> dict[str, str]:
    """Labels shared by every alert of a new group (like Alertmanager's commonLabels)."""
    common = dict(alerts[0].labels)
    for alert in alerts[1:]:
        common = {k: v for k, v in common.items() if alert.labels.get(k) == v}
    return common


def ingest(
    session: Session,
    *,
    integration: Integration,
    alerts: Sequence[NormalizedAlert],
    raw_body: str,
    now: datetime,
) -> IngestResult:
    """Store one payload and its alerts; returns what changed."""
    from watchkeeper.alerts.batch import Payload, ingest_many

    return ingest_many(session, [Payload(integration, alerts, raw_body)], now)[0]


def apply_deltas(
    session: Session, *, deltas: dict[int, list[int]], actor: Actor, now: datetime
) -> list[int]:
    """Update group counters by what changed; resolve groups left with no firing alert.

    Counters move by deltas instead of being recounted: a recount costs a scan
    of the group's alerts on every request, and busy groups hold thousands.
    Rows are updated in id order so concurrent writers on PostgreSQL lock
    groups in the same order and cannot deadlock.
    """
    _COUNTERS.run(
        session,
        [(d[0], d[1], now if d[2] else None, now, gid) for gid, d in sorted(deltas.items())],
    )
    lowered = [gid for gid, d in deltas.items() if d[1] < 0]
    if not lowered:
        return []
    done = session.scalars(_NONE_FIRING_AMONG, {"ids": lowered}).all()
    return resolve_groups(session, group_ids=list(done), actor=actor, now=now)


def refresh_groups(
    session: Session, *, group_ids: Sequence[int], actor: Actor, now: datetime
) -> list[int]:
    """Recount the alerts of groups; resolve those whose alerts have all resolved."""
    if not group_ids:
        return []
    total = (
        select(func.count(ALERTS.c.id)).where(ALERTS.c.group_id == GROUPS.c.id).scalar_subquery()
    )
    firing = (
        select(func.count(ALERTS.c.id))
        .where(and_(ALERTS.c.group_id == GROUPS.c.id, ALERTS.c.status == "firing"))
        .scalar_subquery()
    )
    session.execute(
        update(GROUPS)
        .where(GROUPS.c.id.in_(group_ids))
        .values(alerts_count=total, firing_count=firing)
    )
    done = session.scalars(
        select(GROUPS.c.id).where(
            GROUPS.c.id.in_(group_ids),
            GROUPS.c.firing_count == 0,
            GROUPS.c.status != "resolved",
        )
    ).all()
    return resolve_groups(session, group_ids=list(done), actor=actor, now=now)


def resolve_groups(
    session: Session, *, group_ids: Sequence[int], actor: Actor, now: datetime
) -> list[int]:
    """Resolve open groups (and their firing alerts); returns the ids that changed."""
    ids = session.scalars(_OPEN_AMONG, {"ids": list(group_ids)}).all()
    if not ids:
        return []
    session.execute(_RESOLVE_ALERTS, {"ids": list(ids), "now": now})
    session.execute(_RESOLVE_GROUPS, {"ids": list(ids), "by": actor.name, "now": now})
    add_events(session, [(gid, "resolved", actor, {}) for gid in ids], now)
    _outbox(session, now, [("group.resolved", gid, {"by": actor.name}) for gid in ids])
    return list(ids)


def acknowledge_groups(
    session: Session, *, group_ids: Sequence[int], actor: Actor, now: datetime
) -> list[int]:
    """Acknowledge firing groups; returns the ids that changed."""
    ids = session.scalars(_FIRING_AMONG, {"ids": list(group_ids)}).all()
    if not ids:
        return []
    session.execute(_ACKNOWLEDGE, {"ids": list(ids), "by": actor.name, "now": now})
    add_events(session, [(gid, "acknowledged", actor, {}) for gid in ids], now)
    _outbox(session, now, [("group.acknowledged", gid, {"by": actor.name}) for gid in ids])
    return list(ids)


def add_events(
    session: Session,
    events: Sequence[tuple[int, str, Actor, dict[str, Any]]],
    now: datetime,
    pipeline: Pipeline | None = None,
) -> None:
    """Append timeline entries: (group id, kind, actor, details); queued on ``pipeline``."""
    if not events:
        return
    rows = [
        (gid, now, kind, actor.type, actor.name, details) for gid, kind, actor, details in events
    ]
    if pipeline is not None:
        pipeline.insert(_NEW_EVENTS, rows)
    else:
        _NEW_EVENTS.run(session, rows)


def _outbox(
    session: Session,
    now: datetime,
    events: Sequence[tuple[str, int | None, dict[str, Any]]],
    pipeline: Pipeline | None = None,
) -> None:
    if not events:
        return
    rows = [(now, topic, gid, payload) for topic, gid, payload in events]
    if pipeline is not None:
        pipeline.insert(_NEW_OUTBOX, rows)
    else:
        _NEW_OUTBOX.run(session, rows)
    # A repeat of a known alert changes nothing the engine does; anything else
    # (a new group, an acknowledgement, an incident notice…) wakes it.
    if any(topic != QUIET_TOPIC for topic, _gid, _payload in events):
        request_wake(session, pipeline)


outbox = _outbox
