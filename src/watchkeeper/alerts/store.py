"""The alert store: commit normalized alerts, deduplicated and grouped, in one transaction.

Set-based on purpose: one ingest request of N alerts costs a fixed handful of
statements (select the open groups and alerts it touches, insert what is new,
update what repeats, recount the touched groups), never a query per alert.
The caller owns the transaction; the sender's 2xx comes only after it commits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Boolean, Table, and_, bindparam, case, func, insert, select, update
from sqlalchemy.orm import Session

from watchkeeper.alerts.models import (
    Alert,
    AlertGroup,
    GroupEvent,
    Integration,
    OutboxEvent,
    RawPayload,
)
from watchkeeper.alerts.normalized import NormalizedAlert

ALERTS = cast(Table, Alert.__table__)
GROUPS = cast(Table, AlertGroup.__table__)
PAYLOADS = cast(Table, RawPayload.__table__)
EVENTS = cast(Table, GroupEvent.__table__)
OUTBOX = cast(Table, OutboxEvent.__table__)

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
    # group id -> [alerts added, change of firing alerts, had a firing alert]
    deltas: dict[int, list[int]] = field(default_factory=dict)

    def delta(self, group_id: int, *, added: int = 0, firing: int = 0, fired: bool = False) -> None:
        entry = self.deltas.setdefault(group_id, [0, 0, 0])
        entry[0] += added
        entry[1] += firing
        entry[2] |= int(fired)
        self.touched_group_ids.add(group_id)


def _link_dicts(alert: NormalizedAlert) -> list[dict[str, str]]:
    return [{"title": link.title, "url": link.url} for link in alert.links]


def ingest(
    session: Session,
    *,
    integration: Integration,
    alerts: Sequence[NormalizedAlert],
    raw_body: str,
    now: datetime,
) -> IngestResult:
    """Store one payload and its alerts; returns what changed."""
    payload_id = session.execute(
        insert(PAYLOADS)
        .values(integration_id=integration.id, received_at=now, body=raw_body)
        .returning(PAYLOADS.c.id)
    ).scalar_one()
    result = IngestResult(payload_id=payload_id)
    actor = Actor("integration", integration.name)

    # Later entries for the same fingerprint win, as if sent one after another.
    latest: dict[str, NormalizedAlert] = {}
    for alert in alerts:
        latest.pop(alert.fingerprint, None)
        latest[alert.fingerprint] = alert
    result.fingerprints = list(latest)
    firing = [a for a in latest.values() if a.action == "fire"]
    resolving = [a for a in latest.values() if a.action == "resolve"]
    acknowledging = [a for a in latest.values() if a.action == "acknowledge"]

    open_alerts = _open_alerts(session, integration.id, latest.keys())
    if firing:
        _fire(session, integration, firing, open_alerts, payload_id, now, actor, result)
    if resolving:
        _resolve_alerts(session, integration.id, resolving, open_alerts, now, result)
    if acknowledging:
        groups = {
            open_alerts[a.fingerprint][1] for a in acknowledging if a.fingerprint in open_alerts
        }
        result.acknowledged_group_ids = acknowledge_groups(
            session, group_ids=sorted(groups), actor=actor, now=now
        )
        result.ignored_alerts += sum(1 for a in acknowledging if a.fingerprint not in open_alerts)
    if result.deltas:
        result.resolved_group_ids = apply_deltas(session, result=result, actor=actor, now=now)
    return result


def apply_deltas(
    session: Session, *, result: IngestResult, actor: Actor, now: datetime
) -> list[int]:
    """Update group counters by what changed; resolve groups left with no firing alert.

    Counters move by deltas instead of being recounted: a recount costs a scan
    of the group's alerts on every request, and busy groups hold thousands.
    Rows are updated in id order so concurrent writers on PostgreSQL lock
    groups in the same order and cannot deadlock.
    """
    params = [
        {"b_id": gid, "b_added": d[0], "b_firing": d[1], "b_fired": bool(d[2])}
        for gid, d in sorted(result.deltas.items())
    ]
    session.execute(
        update(GROUPS)
        .where(GROUPS.c.id == bindparam("b_id"))
        .values(
            alerts_count=GROUPS.c.alerts_count + bindparam("b_added"),
            firing_count=GROUPS.c.firing_count + bindparam("b_firing"),
            last_alert_at=case(
                (bindparam("b_fired", type_=Boolean), now), else_=GROUPS.c.last_alert_at
            ),
            updated_at=now,
        ),
        params,
    )
    lowered = [gid for gid, d in result.deltas.items() if d[1] < 0]
    if not lowered:
        return []
    done = session.scalars(
        select(GROUPS.c.id).where(
            GROUPS.c.id.in_(lowered), GROUPS.c.firing_count <= 0, GROUPS.c.status != "resolved"
        )
    ).all()
    return resolve_groups(session, group_ids=list(done), actor=actor, now=now)


def _open_alerts(
    session: Session, integration_id: int, fingerprints: Iterable[str]
) -> dict[str, tuple[int, int]]:
    """fingerprint → (alert id, group id) of alerts that are firing now."""
    keys = list(fingerprints)
    if not keys:
        return {}
    rows = session.execute(
        select(ALERTS.c.open_fingerprint, ALERTS.c.id, ALERTS.c.group_id).where(
            ALERTS.c.integration_id == integration_id, ALERTS.c.open_fingerprint.in_(keys)
        )
    ).all()
    return {row[0]: (row[1], row[2]) for row in rows}


def _fire(
    session: Session,
    integration: Integration,
    firing: list[NormalizedAlert],
    open_alerts: dict[str, tuple[int, int]],
    payload_id: int,
    now: datetime,
    actor: Actor,
    result: IngestResult,
) -> None:
    repeats = [a for a in firing if a.fingerprint in open_alerts]
    fresh = [a for a in firing if a.fingerprint not in open_alerts]
    if repeats:
        session.execute(
            update(ALERTS)
            .where(ALERTS.c.id == bindparam("b_id"))
            .values(
                last_seen_at=now,
                repeat_count=ALERTS.c.repeat_count + 1,
                ends_at=bindparam("b_ends_at"),
                annotations=bindparam("b_annotations"),
                payload_id=payload_id,
            ),
            [
                {
                    "b_id": open_alerts[a.fingerprint][0],
                    "b_ends_at": a.ends_at,
                    "b_annotations": a.annotations,
                }
                for a in repeats
            ],
        )
        result.repeated_alerts += len(repeats)
        for alert in repeats:
            result.delta(open_alerts[alert.fingerprint][1], fired=True)
    if not fresh:
        return
    by_key: dict[str, list[NormalizedAlert]] = defaultdict(list)
    for alert in fresh:
        by_key[alert.group_key].append(alert)
    group_ids = _open_groups_for(session, integration, by_key, now, actor, result)
    session.execute(
        insert(ALERTS),
        [
            {
                "group_id": group_ids[a.group_key],
                "integration_id": integration.id,
                "fingerprint": a.fingerprint,
                "open_fingerprint": a.fingerprint,
                "status": "firing",
                "title": a.title,
                "message": a.message,
                "severity": a.severity,
                "labels": a.labels,
                "annotations": a.annotations,
                "source_url": a.source_url,
                "links": _link_dicts(a),
                "starts_at": a.starts_at,
                "ends_at": a.ends_at,
                "first_seen_at": now,
                "last_seen_at": now,
                "repeat_count": 0,
                "payload_id": payload_id,
            }
            for a in fresh
        ],
    )
    result.new_alerts += len(fresh)
    counts: defaultdict[int, int] = defaultdict(int)
    for alert in fresh:
        counts[group_ids[alert.group_key]] += 1
    for gid, n in counts.items():
        result.delta(gid, added=n, firing=n, fired=True)
    _outbox(
        session,
        now,
        [("group.alert_added", gid, {"new_alerts": n}) for gid, n in sorted(counts.items())],
    )


def _open_groups_for(
    session: Session,
    integration: Integration,
    by_key: dict[str, list[NormalizedAlert]],
    now: datetime,
    actor: Actor,
    result: IngestResult,
) -> dict[str, int]:
    """group key → id of the open group for it, opening (or reopening) groups as needed."""
    keys = list(by_key)
    found: dict[str, int] = dict(
        session.execute(
            select(GROUPS.c.open_key, GROUPS.c.id).where(
                GROUPS.c.integration_id == integration.id, GROUPS.c.open_key.in_(keys)
            )
        ).all()
    )
    missing = [k for k in keys if k not in found]
    if not missing:
        return found
    reopened = _reopen_recent(session, integration, missing, now, actor)
    found.update(reopened)
    to_create = [k for k in missing if k not in reopened]
    if to_create:
        rows = []
        for key in to_create:
            first = min(by_key[key], key=lambda a: SEVERITY_RANK.get(a.severity, 9))
            rows.append(
                {
                    "integration_id": integration.id,
                    "team_id": integration.team_id,
                    "group_key": key,
                    "open_key": key,
                    "status": "firing",
                    "title": by_key[key][0].title,
                    "message": by_key[key][0].message,
                    "severity": first.severity,
                    "labels": _common_labels(by_key[key]),
                    "source_url": by_key[key][0].source_url,
                    "links": _link_dicts(by_key[key][0]),
                    "alerts_count": 0,
                    "firing_count": 0,
                    "maintenance": integration.maintenance,
                    "created_at": now,
                    "updated_at": now,
                    "last_alert_at": now,
                }
            )
        created = session.execute(
            insert(GROUPS).returning(GROUPS.c.id, GROUPS.c.open_key, sort_by_parameter_order=True),
            rows,
        ).all()
        for group_id, key in created:
            found[key] = group_id
            result.created_group_ids.append(group_id)
        add_events(
            session,
            [
                (gid, "created", actor, {"maintenance": integration.maintenance})
                for gid, _ in created
            ],
            now,
        )
        _outbox(
            session,
            now,
            [
                (
                    "group.created",
                    gid,
                    {"integration_id": integration.id, "maintenance": integration.maintenance},
                )
                for gid, _ in created
            ],
        )
    return found


def _reopen_recent(
    session: Session, integration: Integration, keys: list[str], now: datetime, actor: Actor
) -> dict[str, int]:
    """Reopen groups resolved within the integration's reopen window, if one is set."""
    minutes = integration.options.get("reopen_within_minutes")
    if not isinstance(minutes, int) or minutes <= 0:
        return {}
    since = now - timedelta(minutes=minutes)
    rows = session.execute(
        select(GROUPS.c.group_key, func.max(GROUPS.c.id))
        .where(
            GROUPS.c.integration_id == integration.id,
            GROUPS.c.group_key.in_(keys),
            GROUPS.c.status == "resolved",
            GROUPS.c.merged_into_id.is_(None),
            GROUPS.c.resolved_at >= since,
        )
        .group_by(GROUPS.c.group_key)
    ).all()
    reopened: dict[str, int] = {key: gid for key, gid in rows}  # noqa: C416
    if reopened:
        session.execute(
            update(GROUPS)
            .where(GROUPS.c.id == bindparam("b_id"))
            .values(
                status="firing",
                open_key=bindparam("b_key"),
                resolved_at=None,
                resolved_by=None,
                acknowledged_at=None,
                acknowledged_by=None,
                updated_at=now,
            ),
            [{"b_id": gid, "b_key": key} for key, gid in reopened.items()],
        )
        add_events(session, [(gid, "reopened", actor, {}) for gid in reopened.values()], now)
        _outbox(session, now, [("group.reopened", gid, {}) for gid in reopened.values()])
    return reopened


def _common_labels(alerts: list[NormalizedAlert]) -> dict[str, str]:
    """Labels shared by every alert of a new group (like Alertmanager's commonLabels)."""
    common = dict(alerts[0].labels)
    for alert in alerts[1:]:
        common = {k: v for k, v in common.items() if alert.labels.get(k) == v}
    return common


def _resolve_alerts(
    session: Session,
    integration_id: int,
    resolving: list[NormalizedAlert],
    open_alerts: dict[str, tuple[int, int]],
    now: datetime,
    result: IngestResult,
) -> None:
    known = [a for a in resolving if a.fingerprint in open_alerts]
    result.ignored_alerts += len(resolving) - len(known)
    if not known:
        return
    session.execute(
        update(ALERTS)
        .where(ALERTS.c.id == bindparam("b_id"))
        .values(
            status="resolved",
            open_fingerprint=None,
            resolved_at=now,
            last_seen_at=now,
            ends_at=bindparam("b_ends_at"),
        ),
        [{"b_id": open_alerts[a.fingerprint][0], "b_ends_at": a.ends_at or now} for a in known],
    )
    result.resolved_alerts += len(known)
    for alert in known:
        result.delta(open_alerts[alert.fingerprint][1], firing=-1)


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
    ids = session.scalars(
        select(GROUPS.c.id).where(GROUPS.c.id.in_(group_ids), GROUPS.c.status != "resolved")
    ).all()
    if not ids:
        return []
    session.execute(
        update(ALERTS)
        .where(ALERTS.c.group_id.in_(ids), ALERTS.c.status == "firing")
        .values(status="resolved", open_fingerprint=None, resolved_at=now)
    )
    session.execute(
        update(GROUPS)
        .where(GROUPS.c.id.in_(ids))
        .values(
            status="resolved",
            open_key=None,
            resolved_at=now,
            resolved_by=actor.name,
            firing_count=0,
            silenced_until=None,
            updated_at=now,
        )
    )
    add_events(session, [(gid, "resolved", actor, {}) for gid in ids], now)
    _outbox(session, now, [("group.resolved", gid, {"by": actor.name}) for gid in ids])
    return list(ids)


def acknowledge_groups(
    session: Session, *, group_ids: Sequence[int], actor: Actor, now: datetime
) -> list[int]:
    """Acknowledge firing groups; returns the ids that changed."""
    ids = session.scalars(
        select(GROUPS.c.id).where(GROUPS.c.id.in_(group_ids), GROUPS.c.status == "firing")
    ).all()
    if not ids:
        return []
    session.execute(
        update(GROUPS)
        .where(GROUPS.c.id.in_(ids))
        .values(
            status="acknowledged", acknowledged_at=now, acknowledged_by=actor.name, updated_at=now
        )
    )
    add_events(session, [(gid, "acknowledged", actor, {}) for gid in ids], now)
    _outbox(session, now, [("group.acknowledged", gid, {"by": actor.name}) for gid in ids])
    return list(ids)


def add_events(
    session: Session,
    events: Sequence[tuple[int, str, Actor, dict[str, Any]]],
    now: datetime,
) -> None:
    """Append timeline entries: (group id, kind, actor, details)."""
    if not events:
        return
    session.execute(
        insert(EVENTS),
        [
            {
                "group_id": gid,
                "at": now,
                "kind": kind,
                "actor_type": actor.type,
                "actor_name": actor.name,
                "details": details,
            }
            for gid, kind, actor, details in events
        ],
    )


def _outbox(
    session: Session, now: datetime, events: Sequence[tuple[str, int | None, dict[str, Any]]]
) -> None:
    if not events:
        return
    session.execute(
        insert(OUTBOX),
        [
            {"at": now, "topic": topic, "group_id": gid, "payload": payload}
            for topic, gid, payload in events
        ],
    )


outbox = _outbox
