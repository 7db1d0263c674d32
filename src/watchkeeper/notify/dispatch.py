"""From "notify this user" to delivered messages: rule walking and the delivery queue.

Every step that sends something first writes a ``Delivery`` row whose
idempotency key names the group, the escalation step and round, the user,
the contact method and the rule position. The row is written in the same
transaction as the state change that caused it, so a crash never loses a
notification and a replay never queues one twice. Sending happens outside
any transaction (a slow provider must not hold SQLite's write lock): a row
is claimed (status ``sending``), sent, and its outcome recorded. Only a
process that dies between claiming and recording can cause a duplicate, and
only of that one in-flight attempt.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Protocol, cast

from sqlalchemy import Table, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from watchkeeper.alerts import store
from watchkeeper.alerts.models import GroupRow
from watchkeeper.db.bulk import BulkInsert, among
from watchkeeper.db.engine import request_claim
from watchkeeper.notify.models import ContactMethod, Delivery, NotificationRule, UserNotification

# Built once: see db.bulk.among.
_RULES_OF_USER = (
    select(NotificationRule)
    .where(
        NotificationRule.user_id == bindparam("user_id"),
        among(NotificationRule.urgency, "urgencies"),
    )
    .order_by(NotificationRule.position, NotificationRule.id)
)
_KNOWN_KEYS = select(Delivery.idempotency_key).where(among(Delivery.idempotency_key, "keys"))
# Deliveries waiting for an attempt (the first or a retry).
PENDING_DELIVERY = Delivery.status.in_(("queued", "retrying"))

MAX_ATTEMPTS = 5
# Backoff between attempts: 10 s, 20 s, 40 s, 80 s (bounded exponential).
BASE_BACKOFF_SECONDS = 10
# A claim older than this belongs to a process that died mid-send.
STALE_CLAIM = timedelta(minutes=2)
BATCH = 500


def group_message(
    group: GroupRow, *, base_url: str, ack_url: str | None, kind: str, idempotency_key: str
) -> dict[str, Any]:
    """The stored form of a notification about an alert group (see notify.message.Message)."""
    important = {k: v for k, v in (group.labels or {}).items() if k in _LABELS_THAT_MATTER}
    return {
        "title": group.title,
        "severity": group.severity,
        "summary": group.message or "",
        "group_url": f"{base_url}/alert-groups/{group.id}",
        "idempotency_key": idempotency_key,
        "kind": kind,
        "labels": important,
        "links": [[link["title"], link["url"]] for link in (group.links or [])]
        + ([["Source", group.source_url]] if group.source_url else []),
        "ack_url": ack_url,
        "status": group.status,
        "alerts_count": group.alerts_count,
    }


_LABELS_THAT_MATTER = frozenset(
    {
        "service",
        "team",
        "env",
        "environment",
        "cluster",
        "namespace",
        "job",
        "instance",
        "alertname",
        "severity",
        "region",
        "slo",
    }
)


def user_plan(
    session: Session, *, user_id: int, urgency: str
) -> tuple[list[dict[str, Any]], dict[int, str]]:
    """The user's rule list as a snapshot, and the channel of each verified method.

    Important falls back to default when empty. Only verified contact methods
    are used. A user with no usable rule still gets one try on every verified
    method, so nobody is silently unreachable.
    """
    verified = {
        m.id: m.type
        for m in session.scalars(
            select(ContactMethod).where(
                ContactMethod.user_id == user_id, ContactMethod.verified.is_(True)
            )
        )
    }
    every = session.scalars(
        _RULES_OF_USER, {"user_id": user_id, "urgencies": sorted({urgency, "default"})}
    ).all()
    for wanted in (urgency, "default"):
        steps = [
            {"kind": "notify", "contact_method_id": r.contact_method_id}
            if r.kind == "notify"
            else {"kind": "wait", "minutes": r.wait_minutes or 0}
            for r in every
            if r.urgency == wanted and (r.kind == "wait" or r.contact_method_id in verified)
        ]
        if any(s["kind"] == "notify" for s in steps):
            return steps, verified
    return [{"kind": "notify", "contact_method_id": mid} for mid in sorted(verified)], verified


def walk(
    rules: Sequence[dict[str, Any]], position: int, *, now: datetime, channels: dict[int, str]
) -> tuple[list[tuple[int, int, str]], int, datetime | None]:
    """Follow a rule list from ``position`` up to its next wait.

    Returns the notify steps passed on the way as (position after the step,
    contact method id, channel), skipping methods not in ``channels`` (deleted
    or unverified since), the new position, and when to go on (None: done).
    """
    sends: list[tuple[int, int, str]] = []
    while position < len(rules):
        step = rules[position]
        position += 1
        if step["kind"] == "wait":
            return sends, position, now + timedelta(minutes=int(step["minutes"]))
        method_id = int(step["contact_method_id"])
        channel = channels.get(method_id)
        if channel is not None:
            sends.append((position, method_id, channel))
    return sends, position, None


def page_row(
    group: GroupRow,
    *,
    cause: str,
    user_id: int,
    send: tuple[int, int, str],
    base_url: str,
    ack_url_for: Callable[[int, int], str | None],
) -> dict[str, Any]:
    """The delivery row of one notify step of a rule walk (see ``walk``)."""
    position, method_id, channel = send
    key = f"g{group.id}:{cause}:u{user_id}:cm{method_id}:p{position}"
    return {
        "idempotency_key": key,
        "group_id": group.id,
        "user_id": user_id,
        "contact_method_id": method_id,
        "channel": channel,
        "kind": "page",
        "message": group_message(
            group,
            base_url=base_url,
            ack_url=ack_url_for(group.id, user_id),
            kind="page",
            idempotency_key=key,
        ),
    }


def start_user_notification(
    session: Session, *, group_id: int, user_id: int, urgency: str, cause: str, now: datetime
) -> int:
    """Begin walking a user's rules; the engine's next pass queues the first sends."""
    rules, _channels = user_plan(session, user_id=user_id, urgency=urgency)
    row_id = session.execute(
        insert(UserNotification)
        .values(
            group_id=group_id,
            user_id=user_id,
            urgency=urgency,
            cause=cause,
            rules=rules,
            position=0,
            status="active",
            wake_at=now,
            created_at=now,
        )
        .returning(UserNotification.id)
    ).scalar_one()
    return int(row_id)


def run_due_user_notifications(
    session: Session,
    *,
    now: datetime,
    base_url: str,
    ack_url_for: Callable[[int, int], str | None],
    lock: bool,
) -> int:
    """Advance rule walkers whose wait is over; queue their deliveries."""
    query = (
        select(UserNotification)
        .where(UserNotification.status == "active", UserNotification.wake_at <= now)
        .order_by(UserNotification.wake_at)
        .limit(BATCH)
    )
    if lock:
        query = query.with_for_update(skip_locked=True)
    walkers = session.scalars(query).all()
    if not walkers:
        return 0
    groups = store.group_rows(session, (w.group_id for w in walkers))
    channels = {
        m.id: m.type
        for m in session.scalars(
            select(ContactMethod).where(
                ContactMethod.user_id.in_({w.user_id for w in walkers}),
                ContactMethod.verified.is_(True),
            )
        )
    }
    rows: list[dict[str, Any]] = []
    for walker in walkers:
        group = groups.get(walker.group_id)
        if group is None or group.status != "firing":
            walker.status = "cancelled"
            continue
        sends, walker.position, wake_at = walk(
            walker.rules, walker.position, now=now, channels=channels
        )
        rows.extend(
            page_row(
                group,
                cause=walker.cause,
                user_id=walker.user_id,
                send=send,
                base_url=base_url,
                ack_url_for=ack_url_for,
            )
            for send in sends
        )
        walker.wake_at = wake_at
        if wake_at is None:
            walker.status = "done"
    queue_deliveries(session, rows, now=now)
    return len(walkers)


def cancel_user_notifications(session: Session, *, group_ids: Sequence[int]) -> None:
    if group_ids:
        session.execute(
            update(UserNotification)
            .where(UserNotification.group_id.in_(group_ids), UserNotification.status == "active")
            .values(status="cancelled")
        )


# A burst of escalation steps queues thousands of deliveries in one pass:
# written straight to the driver, without SQLAlchemy's per-row bind processing.
_DELIVERY_COLUMNS = (
    "idempotency_key",
    "group_id",
    "user_id",
    "contact_method_id",
    "chat_destination_id",
    "webhook_id",
    "channel",
    "kind",
    "message",
    "provider_message_id",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
)
_NEW_DELIVERIES = BulkInsert(cast(Table, Delivery.__table__), _DELIVERY_COLUMNS)
_DELIVERY_DEFAULTS: dict[str, Any] = dict.fromkeys(
    (
        "group_id",
        "user_id",
        "contact_method_id",
        "chat_destination_id",
        "webhook_id",
        "provider_message_id",
    )
)


def queue_deliveries(session: Session, rows: list[dict[str, Any]], *, now: datetime) -> int:
    """Insert deliveries whose idempotency key is new; returns how many were queued."""
    if not rows:
        return 0
    keys = [r["idempotency_key"] for r in rows]
    existing = set(session.scalars(_KNOWN_KEYS, {"keys": keys}))
    fresh: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["idempotency_key"] not in existing:
            fresh.setdefault(row["idempotency_key"], row)
    if not fresh:
        return 0
    values = []
    for row in fresh.values():
        full = {
            **_DELIVERY_DEFAULTS,
            **row,
            "status": "queued",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        if len(full) != len(_DELIVERY_COLUMNS):
            unknown = sorted(set(full) - set(_DELIVERY_COLUMNS))
            raise ValueError(f"delivery row has columns queue_deliveries does not write: {unknown}")
        values.append(tuple(full[c] for c in _DELIVERY_COLUMNS))
    _NEW_DELIVERIES.run(session, values)
    request_claim(session)
    return len(fresh)


class Claimed(Protocol):
    """What a claimed delivery carries to its sender (see ``claim_due``)."""

    id: int
    channel: str
    kind: str
    message: dict[str, Any]
    contact_method_id: int | None
    chat_destination_id: int | None
    webhook_id: int | None


@lru_cache(maxsize=2)
def _claim_statement(lock: bool) -> Any:
    # Built once: constructing this statement costs more than running it, and
    # the engine claims on every pass.
    due = (
        select(Delivery.id)
        .where(
            or_(
                PENDING_DELIVERY & (Delivery.next_attempt_at <= bindparam("now")),
                (Delivery.status == "sending") & (Delivery.claimed_at < bindparam("stale_before")),
            )
        )
        .order_by(Delivery.next_attempt_at)
        .limit(bindparam("limit"))
    )
    if lock:
        due = due.with_for_update(skip_locked=True)
    return (
        update(Delivery)
        .where(Delivery.id.in_(due.scalar_subquery()))
        .values(status="sending", claimed_at=bindparam("now"), attempts=Delivery.attempts + 1)
        .returning(
            Delivery.id,
            Delivery.channel,
            Delivery.kind,
            Delivery.message,
            Delivery.contact_method_id,
            Delivery.chat_destination_id,
            Delivery.webhook_id,
        )
        .execution_options(synchronize_session=False)
    )


def claim_due(
    session: Session,
    *,
    now: datetime,
    lock: bool,
    limit: int = BATCH,
    stale_after: timedelta = STALE_CLAIM,
) -> Sequence[Claimed]:
    """Mark due deliveries as being sent by this process and return them.

    One statement: an UPDATE of the rows a locked subquery picks, returning
    what the senders need (no ORM objects are loaded).
    """
    claimed = session.execute(
        _claim_statement(lock), {"now": now, "stale_before": now - stale_after, "limit": limit}
    ).all()
    return sorted(claimed, key=lambda row: row.id)


def record_outcome(
    session: Session,
    *,
    delivery_id: int,
    sent: bool,
    retryable: bool,
    response: str,
    provider_message_id: str | None,
    now: datetime,
) -> str:
    """Store an attempt's result; schedules a retry with backoff when it can help."""
    if sent:
        # The common case in one statement, without loading the row.
        done = session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id)
            .values(
                status="sent",
                sent_at=now,
                provider_message_id=provider_message_id,
                provider_response=response,
                claimed_at=None,
            )
        )
        return "sent" if done.rowcount else "gone"  # type: ignore[attr-defined]
    row = session.get(Delivery, delivery_id)
    if row is None:
        return "gone"
    row.provider_response = response
    row.claimed_at = None
    if sent:
        row.status = "sent"
        row.sent_at = now
        row.provider_message_id = provider_message_id
    elif retryable and row.attempts < MAX_ATTEMPTS:
        row.status = "retrying"
        row.next_attempt_at = now + timedelta(
            seconds=BASE_BACKOFF_SECONDS * 2 ** (row.attempts - 1)
        )
    else:
        row.status = "failed"
    return row.status
