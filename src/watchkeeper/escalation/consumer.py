"""The engine's reading of the alerts outbox: what each group event sets in motion."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import (
    Select,
    Table,
    and_,
    bindparam,
    case,
    insert,
    literal_column,
    null,
    select,
    true,
    update,
)
from sqlalchemy.orm import Session

from watchkeeper.alerts import store
from watchkeeper.alerts.models import GroupRow, Integration, OutboxCursor
from watchkeeper.db.base import MAX_ID  # outbox ids are INTEGER too
from watchkeeper.db.bulk import prepared_in
from watchkeeper.escalation import notices, runner
from watchkeeper.escalation.models import EscalationChain, Route
from watchkeeper.escalation.routing_config import CONFIG_TOPIC, RoutingConfig
from watchkeeper.notify import dispatch, outgoing
from watchkeeper.notify.models import Delivery
from watchkeeper.notify.outgoing import Hooks
from watchkeeper.routing import service as routing

log = logging.getLogger("watchkeeper.engine")
CONSUMER = "engine"
BATCH = 2000
# An id missing from the outbox is either a transaction still committing (wait
# for it) or one that rolled back (skip it); after this long we assume the latter.
GAP_PATIENCE = timedelta(seconds=5)

START_TOPICS = ("group.created", "group.reopened", "group.unresolved")
HANDLED = frozenset(
    {
        *START_TOPICS,
        "group.acknowledged",
        "group.unacknowledged",
        "group.silenced",
        "group.unsilenced",
        "group.resolved",
        "group.merged",
    }
)


WANTED = HANDLED | notices.TOPICS


@dataclass(frozen=True)
class Taken:
    """An outbox event the engine acts on."""

    id: int
    topic: str
    group_id: int | None
    payload: dict[str, Any]


class PassCache:
    """What a pass reads once, not once per event: routes and webhooks (kept by
    the engine between passes, see routing_config) and escalation chains."""

    def __init__(self, batch: runner.StepBatch, known: RoutingConfig) -> None:
        self.session = batch.session
        self.batch = batch
        self.known = known
        self._chains: dict[int, EscalationChain | None] = {}

    def routes(self, integration_id: int) -> Sequence[Route]:
        return self.known.routes(self.session, integration_id)

    def chain(self, chain_id: int) -> EscalationChain | None:
        # Held here: the session's identity map is weak, so an unchanged chain
        # would be loaded again (with an autoflush) for every group it starts.
        if chain_id not in self._chains:
            self._chains[chain_id] = self.session.get(EscalationChain, chain_id)
        return self._chains[chain_id]

    def hooks(self) -> Hooks:
        return self.known.hooks(self.session)


_CURSORS = cast(Table, OutboxCursor.__table__)
_OUTBOX = store.OUTBOX
_GROUPS = store.GROUPS
_POSITION = select(_CURSORS.c.last_id).where(_CURSORS.c.consumer == CONSUMER)
_LOCKED_POSITION = _POSITION.with_for_update(skip_locked=True)
_MOVE = update(_CURSORS).where(_CURSORS.c.consumer == CONSUMER).values(last_id=bindparam("last"))


@lru_cache(maxsize=2)
def _new_events(postgres: bool) -> Select[Any]:
    """Events after the cursor, in one read: ids, topics and times of every event,
    payloads and groups only of those the engine acts on (most, alert_added,
    need nothing). Built once: building it cost more than running it.

    The window of ids (``after`` < id <= ``until``) and, on PostgreSQL, a
    LATERAL probe per event keep young tables' statistics from turning this
    into scans of the whole outbox and of every group (a hash join).
    """
    # The topics are constants of the statement's text: as a list of values
    # they were an expanding parameter, which SQLAlchemy renders into the
    # statement anew on every run (a tenth of a pass's CPU under a stream).
    quoted = ("'" + topic.replace("'", "''") + "'" for topic in sorted(WANTED))
    wanted = _OUTBOX.c.topic.in_([literal_column(text) for text in quoted])
    source: Any
    if postgres:
        group = (
            select(*store.GROUP_ROW_COLUMNS)
            .where(_GROUPS.c.id == _OUTBOX.c.group_id, wanted)
            .limit(1)  # not flattened back into a join
            .lateral("g")
        )
        source, group_columns = _OUTBOX.outerjoin(group, true()), list(group.c)
    else:
        source = _OUTBOX.outerjoin(_GROUPS, and_(_GROUPS.c.id == _OUTBOX.c.group_id, wanted))
        group_columns = list(store.GROUP_ROW_COLUMNS)
    return (
        select(
            _OUTBOX.c.id,
            _OUTBOX.c.topic,
            _OUTBOX.c.at,
            _OUTBOX.c.group_id,
            case((wanted, _OUTBOX.c.payload), else_=null()),
            *group_columns,
        )
        .select_from(source)
        .where(_OUTBOX.c.id > bindparam("after"), _OUTBOX.c.id <= bindparam("until"))
        .order_by(_OUTBOX.c.id)
        .limit(BATCH)
    )


def _position(session: Session, *, lock: bool) -> int | None:
    """The engine's outbox cursor; None when another process holds it."""
    position = session.scalar(_LOCKED_POSITION if lock else _POSITION)
    if position is None:
        exists = session.scalar(_POSITION)
        if exists is not None:
            return None  # another process holds it
        session.execute(insert(_CURSORS).values(consumer=CONSUMER, last_id=0))
        position = 0
    return int(position)


def consume(
    session: Session,
    *,
    now: datetime,
    lock: bool,
    base_url: str,
    ack_url_for: Callable[[int, int], str | None],
    careful: bool = False,
    known: RoutingConfig | None = None,
) -> int:
    """Handle new outbox events in order; returns how many were handled.

    ``known`` is the engine's routing configuration kept between passes;
    without it, this pass reads its own.
    """
    # Prepared on PostgreSQL: parsing and planning the read took longer than
    # running it (0.7 of 1.2 ms per pass); its generic plan is the same id
    # range scan (tests/escalation/test_outbox_read_plan.py).
    with prepared_in(session):
        position = _position(session, lock=lock)
        if position is None:
            return 0
        known = known or RoutingConfig()
        known.follow(position)
        query = _new_events(session.get_bind().dialect.name == "postgresql")
        rows = session.execute(query, {"after": position, "until": position + BATCH}).all()
        if not rows:  # nothing in the window, or only a gap (rolled-back ids) there
            rows = session.execute(query, {"after": position, "until": MAX_ID}).all()
    expected = position + 1
    last_taken = None
    taken: list[Taken] = []
    groups: dict[int, GroupRow] = {}
    for event_id, topic, at, group_id, payload, *group in rows:
        if event_id != expected and now - at < GAP_PATIENCE:
            break
        last_taken = event_id
        expected = event_id + 1
        if topic == CONFIG_TOPIC:
            known.clear()
        elif topic in WANTED:
            taken.append(Taken(event_id, topic, group_id, dict(payload or {})))
            if group[0] is not None and group[0] not in groups:
                groups[group[0]] = GroupRow(*group)
    if last_taken is None:
        return 0
    with prepared_in(session):
        session.execute(_MOVE, {"last": last_taken})
    known.position = last_taken
    if not taken:
        return 0

    def handle(event: Taken, cache: PassCache) -> None:
        if event.topic not in START_TOPICS:
            # Escalations started earlier in this pass are still in the batch;
            # pausing or finishing them must find them written.
            cache.batch.flush()
        if event.topic in notices.TOPICS:
            notices.deliver(
                session,
                event_id=event.id,
                topic=event.topic,
                payload=event.payload,
                now=now,
                base_url=base_url,
            )
            return
        group = groups.get(event.group_id) if event.group_id else None
        if group is not None:
            _handle(
                session,
                event,
                group,
                now=now,
                base_url=base_url,
                ack_url_for=ack_url_for,
                cache=cache,
            )

    # Normally the whole batch runs without savepoints: a savepoint costs two
    # round trips on PostgreSQL, more than starting an escalation. If anything
    # fails, the caller rolls the pass back and runs the next one ``careful``:
    # event by event, each in a savepoint, so one bad event is logged and
    # skipped instead of blocking the others.
    def new_cache() -> PassCache:
        batch = runner.StepBatch(session, now, base_url=base_url, ack_url_for=ack_url_for)
        return PassCache(batch, known)

    if not careful:
        cache = new_cache()
        for event in taken:
            handle(event, cache)
        cache.batch.flush()
    else:
        for event in taken:
            cache = new_cache()
            try:
                with session.begin_nested():
                    handle(event, cache)
                    cache.batch.flush()
            except Exception:
                log.exception("engine could not handle outbox event %s (%s)", event.id, event.topic)
    return len(taken)


def _handle(
    session: Session,
    event: Taken,
    group: GroupRow,
    *,
    now: datetime,
    base_url: str,
    ack_url_for: Callable[[int, int], str | None],
    cache: PassCache,
) -> None:
    topic = event.topic.removeprefix("group.")
    hooks = cache.hooks()
    if event.topic in START_TOPICS:
        if group.maintenance or event.payload.get("maintenance"):
            return
        _route(
            session,
            group,
            now=now,
            base_url=base_url,
            ack_url_for=ack_url_for,
            cache=cache,
            fresh=event.topic == "group.created",
        )
        outgoing.queue_for_event(
            session, group=group, event="created", now=now, serial=event.id, hooks=hooks
        )
    elif topic == "acknowledged":
        runner.pause(session, group_ids=[group.id], now=now)
        _chat_update(session, group, event.id, now=now, base_url=base_url)
        outgoing.queue_for_event(
            session, group=group, event=topic, now=now, serial=event.id, hooks=hooks
        )
    elif topic in ("unacknowledged", "unsilenced"):
        if group.status == "firing":
            runner.resume(session, group_ids=[group.id], now=now)
        outgoing.queue_for_event(
            session, group=group, event=topic, now=now, serial=event.id, hooks=hooks
        )
    elif topic == "silenced":
        runner.pause(session, group_ids=[group.id], now=now)
        outgoing.queue_for_event(
            session, group=group, event=topic, now=now, serial=event.id, hooks=hooks
        )
    elif topic in ("resolved", "merged"):
        runner.finish(session, group_ids=[group.id], reason=topic, now=now)
        _chat_update(session, group, event.id, now=now, base_url=base_url)
        outgoing.queue_for_event(
            session, group=group, event="resolved", now=now, serial=event.id, hooks=hooks
        )


def _route(
    session: Session,
    group: GroupRow,
    *,
    now: datetime,
    base_url: str,
    ack_url_for: Callable[[int, int], str | None],
    cache: PassCache,
    fresh: bool,
) -> None:
    routes = cache.routes(group.integration_id)
    if not routes:
        return
    context: dict[str, Any] = {
        "labels": dict(group.labels or {}),
        "title": group.title,
        "severity": group.severity,
    }
    route = routing.choose(routes, group.labels or {}, context)
    system = store.Actor("system", "routing")
    if route is None:
        cache.batch.events.append((group.id, "no_route", system, {}))
        return
    cache.batch.events.append((group.id, "routed", system, {"route": route.name or route.id}))
    if route.chat_destination_ids:
        queue_chat(session, group, route.chat_destination_ids, now=now, base_url=base_url)
    if route.escalation_chain_id is not None:
        chain = cache.chain(route.escalation_chain_id)
        if chain is not None:
            runner.start(
                session,
                group=group,
                chain=chain,
                route_id=route.id,
                now=now,
                base_url=base_url,
                ack_url_for=ack_url_for,
                batch=cache.batch,
                fresh=fresh,
            )


def queue_chat(
    session: Session,
    group: GroupRow,
    destination_ids: Sequence[int],
    *,
    now: datetime,
    base_url: str,
) -> None:
    rows = []
    for destination_id in destination_ids:
        key = f"g{group.id}:chat:d{destination_id}"
        rows.append(
            {
                "idempotency_key": key,
                "group_id": group.id,
                "chat_destination_id": destination_id,
                "channel": _channel(session, destination_id),
                "kind": "chat",
                "message": dispatch.group_message(
                    group, base_url=base_url, ack_url=None, kind="chat", idempotency_key=key
                ),
            }
        )
    dispatch.queue_deliveries(session, rows, now=now)


def _channel(session: Session, destination_id: int) -> str:
    from watchkeeper.notify.models import ChatDestination

    destination = session.get(ChatDestination, destination_id)
    return destination.type if destination else "unknown"


def _chat_update(
    session: Session, group: GroupRow, serial: int, *, now: datetime, base_url: str
) -> None:
    """Post the new status to every chat destination that got the first message."""
    firsts = session.scalars(
        select(Delivery).where(Delivery.group_id == group.id, Delivery.kind == "chat")
    ).all()
    rows = []
    for first in firsts:
        key = f"g{group.id}:chat:d{first.chat_destination_id}:ev{serial}"
        message = dispatch.group_message(
            group, base_url=base_url, ack_url=None, kind="chat", idempotency_key=key
        )
        message["title"] = f"[{group.status.upper()}] {group.title}"
        message["update_of"] = first.id
        rows.append(
            {
                "idempotency_key": key,
                "group_id": group.id,
                "chat_destination_id": first.chat_destination_id,
                "channel": first.channel,
                "kind": "chat_update",
                "message": message,
            }
        )
    dispatch.queue_deliveries(session, rows, now=now)


def integration_name(session: Session, integration_id: int) -> str:
    integration = session.get(Integration, integration_id)
    return integration.name if integration else str(integration_id)
