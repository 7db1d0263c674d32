"""Periodic alert upkeep: expiring alerts, heartbeats, silences, auto-resolve, retention."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Select, delete, literal_column, select, text, update
from sqlalchemy.orm import Session

from watchkeeper.alerts import groups, store
from watchkeeper.alerts import integrations as svc
from watchkeeper.alerts.models import Alert, AlertGroup, Integration, OutboxEvent, RawPayload
from watchkeeper.alerts.store import Actor
from watchkeeper.worker import Backlog

BATCH = 5000
# Kinds whose senders express "still firing" by re-sending with a fresh endsAt
# instead of sending an explicit resolve (Prometheus talking straight to us).
ENDS_AT_KINDS = ("prometheus",)


def expiring(now: datetime) -> Select[int, int]:
    """Firing alerts (id, group id) whose endsAt passed, of the kinds that send one."""
    return (
        select(Alert.id, Alert.group_id)
        .join(Integration, Integration.id == Alert.integration_id)
        .where(
            # Spelled as ix_alerts_firing_ends_at's predicate, with the status as
            # a literal: a generic PostgreSQL plan cannot match a bound value to it.
            Alert.status == literal_column("'firing'"),
            Alert.ends_at.is_not(None),
            Alert.ends_at <= now,
            Integration.kind.in_(ENDS_AT_KINDS),
        )
        .limit(BATCH)
    )


def expire_alerts(session: Session, now: datetime) -> int:
    """Resolve alerts whose endsAt passed without being re-sent, as Alertmanager does."""
    rows = session.execute(expiring(now)).all()
    if not rows:
        return 0
    # Only alerts still firing: on PostgreSQL a concurrent resolve may have won.
    # The groups' counters then move by what changed, as ingest moves them; a
    # recount read every alert a group ever had (16 ms at 20,000, every 5 s).
    resolved = session.scalars(
        update(Alert)
        .where(Alert.id.in_(sorted(r[0] for r in rows)), Alert.status == "firing")
        .values(status="resolved", open_fingerprint=None, resolved_at=now)
        .returning(Alert.group_id)
        .execution_options(synchronize_session=False)
    ).all()
    deltas: dict[int, list[int]] = {}
    for group_id in resolved:
        deltas.setdefault(group_id, [0, 0, 0])[1] -= 1
    store.apply_deltas(session, deltas=deltas, actor=Actor("system", "endsAt passed"), now=now)
    return len(resolved)


def check_heartbeats(session: Session, now: datetime) -> int:
    """Fire the missed-heartbeat alert of heartbeats that stopped pinging."""
    candidates = session.scalars(
        select(Integration).where(
            Integration.kind == "heartbeat",
            Integration.heartbeat_expired.is_(False),
            Integration.heartbeat_interval_seconds.is_not(None),
        )
    ).all()
    fired = 0
    for integration in candidates:
        assert integration.heartbeat_interval_seconds is not None
        last = integration.last_heartbeat_at or integration.created_at
        if last + timedelta(seconds=integration.heartbeat_interval_seconds) > now:
            continue
        integration.heartbeat_expired = True
        store.ingest(
            session,
            integration=integration,
            alerts=[svc.heartbeat_alert(integration, action="fire", now=now)],
            raw_body='{"heartbeat": "missed"}',
            now=now,
        )
        fired += 1
    return fired


def expire_silences(session: Session, now: datetime) -> int:
    return len(groups.expire_silences(session, now=now))


def auto_resolve(session: Session, now: datetime) -> int:
    return len(groups.auto_resolve_quiet(session, now=now))


# The integration ids groups name that no integration has: the distinct ids
# one index probe each (uq_alert_groups_open_key leads with integration_id),
# not a scan of every group (60 ms at 400,000 on PostgreSQL, every run).
_GONE_INTEGRATIONS = """
WITH RECURSIVE ids(id) AS (
    SELECT min(integration_id) FROM alert_groups
    UNION ALL
    SELECT (SELECT min(integration_id) FROM alert_groups WHERE integration_id > ids.id)
    FROM ids WHERE ids.id IS NOT NULL
)
SELECT id FROM ids WHERE id IS NOT NULL AND id NOT IN (SELECT id FROM integrations)
"""


def prune(session: Session, now: datetime, *, retention_days: int) -> int:
    """Delete raw payloads, resolved groups and outbox events older than the retention.

    And groups whose integration is gone, whatever their age.

    At most BATCH of each per run. A run that filled a batch returns a
    Backlog, and the worker runs it again a second later instead of in an
    hour: a busy installation receives far more than BATCH payloads an hour.
    """
    cutoff = now - timedelta(days=retention_days)
    old_payloads = select(RawPayload.id).where(RawPayload.received_at < cutoff).limit(BATCH)
    payloads = int(
        session.execute(
            delete(RawPayload).where(RawPayload.id.in_(old_payloads.scalar_subquery()))
        ).rowcount  # type: ignore[attr-defined]
        or 0
    )
    old_groups = list(
        session.scalars(
            select(AlertGroup.id)
            .where(AlertGroup.status == "resolved", AlertGroup.resolved_at < cutoff)
            .limit(BATCH)
        ).all()
    )
    # Groups of a deleted integration, stored by a request that was in flight
    # when it was deleted (groups have no foreign key to integrations: see
    # AlertGroup). Their payloads go by age, above.
    gone = session.scalars(text(_GONE_INTEGRATIONS)).all()
    if gone:
        old_groups += session.scalars(
            select(AlertGroup.id)
            .where(AlertGroup.integration_id.in_(gone))
            .limit(BATCH - len(old_groups))
        ).all()
    if old_groups:
        # Clear merge pointers first so deleting a target never trips a foreign key.
        session.execute(
            update(AlertGroup)
            .where(AlertGroup.merged_into_id.in_(old_groups))
            .values(merged_into_id=None)
        )
        session.execute(delete(Alert).where(Alert.group_id.in_(old_groups)))
        session.execute(delete(AlertGroup).where(AlertGroup.id.in_(old_groups)))
    # The oldest events by id (their times rise with their ids), then those past
    # the cutoff: bounded by the primary key. "at < cutoff" alone has no index
    # and read the whole outbox once little of it was old (93 ms at 1.7 million).
    oldest = session.execute(
        select(OutboxEvent.id, OutboxEvent.at).order_by(OutboxEvent.id).limit(BATCH)
    ).all()
    old_events = [event_id for event_id, at in oldest if at < cutoff]
    if old_events:
        session.execute(delete(OutboxEvent).where(OutboxEvent.id.in_(old_events)))
    done = payloads + len(old_groups) + len(old_events)
    full = BATCH in (payloads, len(old_groups), len(old_events))
    return Backlog(done) if full else done
