"""Running escalations from durable rows: start, advance when due, pause, resume, finish.

The pure ``advance`` decides what a chain does next; this module loads what
it needs, carries out the actions (queue user notifications and webhooks,
resolve, declare an incident) and stores the new state, all in the caller's
transaction, so a crash either did all of a step or none of it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import orjson
from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from watchkeeper.alerts import store
from watchkeeper.alerts.models import Alert, AlertGroup, GroupRow
from watchkeeper.alerts.store import Actor
from watchkeeper.db.bulk import BulkInsert, BulkUpdate, among
from watchkeeper.escalation.advance import Action, EscalationState, Facts, advance
from watchkeeper.escalation.models import Escalation, EscalationChain
from watchkeeper.escalation.steps import (
    ChainSnapshot,
    DeclareIncident,
    NotifyOnCall,
    NotifyTeam,
    NotifyUsers,
    Resolve,
    TriggerWebhook,
    step_from_json,
)
from watchkeeper.identity.models import TeamMembership, User
from watchkeeper.notify import dispatch
from watchkeeper.notify.models import UserNotification

log = logging.getLogger("watchkeeper.escalation")
ENGINE = Actor("system", "escalation")
BATCH = 2000

# Called with (session, group, severity, now) when a declare_incident step runs;
# the incidents package registers itself here when it is installed.
IncidentHook = Callable[[Session, GroupRow, str, datetime], object]
incident_hooks: list[IncidentHook] = []


# The rule walkers a pass starts (one per user paged), written straight to the
# driver: thousands at once when many escalations come due together.
_WALKER_COLUMNS = (
    "group_id",
    "user_id",
    "urgency",
    "cause",
    "rules",
    "position",
    "status",
    "wake_at",
    "created_at",
)
_NEW_WALKERS = BulkInsert(cast(Table, UserNotification.__table__), _WALKER_COLUMNS)


@dataclass(slots=True)
class Run:
    """An escalation's row while a pass works on it: a new group's first run, or a due one.

    A burst of new groups starts thousands of escalations in one pass, and a
    minute later steps them all; as ORM objects, loading, building and
    flushing them cost more than the steps themselves. The pass reads and
    writes these plain rows in bulk instead. Fields are Escalation's columns.
    """

    id: int | None  # None until written
    group_id: int
    chain_id: int | None
    route_id: int | None
    snapshot: dict[str, Any]
    state: dict[str, Any]
    status: str
    wake_at: datetime | None
    ack_timeout_minutes: int | None
    finished_reason: str | None
    nobody_notified: int
    created_at: datetime
    updated_at: datetime


# Built once: see db.bulk.among.
_ACTIVE_USERS = (
    select(User).where(among(User.id, "ids"), User.is_active.is_(True)).order_by(User.id)
)
_PAUSED_OR_FINISHED = Escalation.status.in_(("paused", "finished"))

_RUNS = cast(Table, Escalation.__table__)
_RUN_FIELDS = tuple(Run.__dataclass_fields__)
_NEW_RUN_COLUMNS = _RUN_FIELDS[1:]
_NEW_RUNS = BulkInsert(_RUNS, _NEW_RUN_COLUMNS)
# What a step changes.
_STEPPED_COLUMNS = (
    "state",
    "status",
    "wake_at",
    "finished_reason",
    "nobody_notified",
    "updated_at",
)
_STEPPED_RUNS = BulkUpdate(_RUNS, _STEPPED_COLUMNS)


class StepBatch:
    """Caches and pending rows shared by every step of one pass, written at the end.

    With thousands of escalations due at once, parsing each snapshot, looking
    up each user's rules and inserting each timeline entry separately would
    cost a handful of queries per escalation; here they cost one per pass.
    """

    def __init__(
        self,
        session: Session,
        now: datetime,
        *,
        base_url: str,
        ack_url_for: Callable[[int, int], str | None],
    ) -> None:
        self.session = session
        self.now = now
        self.base_url = base_url
        self.ack_url_for = ack_url_for
        self.events: list[tuple[int, str, Actor, dict[str, Any]]] = []
        self.walkers: list[dict[str, Any]] = []
        self.pages: list[dict[str, Any]] = []
        # Escalations started (to insert) and stepped (to update) in this pass.
        self.runs: list[Run] = []
        self.stepped: list[Run] = []
        self._snapshots: dict[bytes, ChainSnapshot] = {}
        self._chain_json: dict[str, dict[str, Any]] = {}
        self._users: dict[tuple[int, ...], list[User]] = {}
        self._plans: dict[tuple[int, str], tuple[list[dict[str, Any]], dict[int, str]]] = {}

    def chain_snapshot(self, chain: EscalationChain) -> dict[str, Any]:
        """The JSON snapshot of a chain, built once per pass."""
        key = f"chain:{chain.id}:{chain.updated_at.isoformat()}"
        if key not in self._chain_json:
            self._chain_json[key] = snapshot_of(chain).to_json()
        return self._chain_json[key]

    def snapshot(self, data: dict[str, Any]) -> ChainSnapshot:
        key = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
        if key not in self._snapshots:
            self._snapshots[key] = ChainSnapshot.from_json(data)
        return self._snapshots[key]

    def users(self, ids: Sequence[int]) -> list[User]:
        key = tuple(sorted(ids))
        if key not in self._users:
            self._users[key] = list(self.session.scalars(_ACTIVE_USERS, {"ids": list(key)}))
        return self._users[key]

    def notify(self, *, group: GroupRow, user_id: int, urgency: str, cause: str) -> None:
        """Start walking the user's rules; the first sends are queued in this pass."""
        key = (user_id, urgency)
        if key not in self._plans:
            self._plans[key] = dispatch.user_plan(self.session, user_id=user_id, urgency=urgency)
        rules, channels = self._plans[key]
        # The steps up to the first wait happen now: walking them here saves the
        # walker a round trip through the table before the first page goes out.
        sends, position, wake_at = dispatch.walk(rules, 0, now=self.now, channels=channels)
        self.pages.extend(
            dispatch.page_row(
                group,
                cause=cause,
                user_id=user_id,
                send=send,
                base_url=self.base_url,
                ack_url_for=self.ack_url_for,
            )
            for send in sends
        )
        self.walkers.append(
            {
                "group_id": group.id,
                "user_id": user_id,
                "urgency": urgency,
                "cause": cause,
                "rules": rules,
                "position": position,
                "status": "active" if wake_at is not None else "done",
                "wake_at": wake_at,
                "created_at": self.now,
            }
        )

    def flush(self) -> None:
        """Write what the pass queued so far (before anything reads those tables)."""
        if self.runs:
            _NEW_RUNS.run(
                self.session, [tuple(getattr(r, c) for c in _NEW_RUN_COLUMNS) for r in self.runs]
            )
            self.runs = []
        if self.stepped:
            _STEPPED_RUNS.run(
                self.session,
                [(*(getattr(r, c) for c in _STEPPED_COLUMNS), r.id) for r in self.stepped],
            )
            self.stepped = []
        if self.walkers:
            _NEW_WALKERS.run(
                self.session, [tuple(w[c] for c in _WALKER_COLUMNS) for w in self.walkers]
            )
            self.walkers = []
        if self.pages:
            dispatch.queue_deliveries(self.session, self.pages, now=self.now)
            self.pages = []
        store.add_events(self.session, self.events, self.now)
        self.events = []


def snapshot_of(chain: EscalationChain) -> ChainSnapshot:
    return ChainSnapshot(
        chain_id=chain.id,
        name=chain.name,
        time_zone=chain.time_zone,
        steps=tuple(step_from_json(s) for s in chain.steps),
    )


def start(
    session: Session,
    *,
    group: GroupRow,
    chain: EscalationChain,
    route_id: int | None,
    now: datetime,
    base_url: str,
    ack_url_for: Callable[[int, int], str | None],
    batch: StepBatch | None = None,
    fresh: bool = False,
) -> None:
    """Snapshot the chain and run its first steps now (restarting any earlier run).

    ``fresh`` says the group never escalated before (a new group): its run is
    then written with the batch instead of looked for. ``batch`` lets the
    caller start many at once; its ``flush`` writes them.
    """
    own_batch = batch is None
    batch = batch or StepBatch(session, now, base_url=base_url, ack_url_for=ack_url_for)
    snapshot_json = batch.chain_snapshot(chain)
    state = EscalationState.start(now, round_robin_offset=chain.round_robin_offset)
    if any(s.get("type") == "notify_round_robin" for s in chain.steps):
        # Each run starts one further along (and only such chains pay the write).
        chain.round_robin_offset += 1
    batch.events.append((group.id, "escalation_started", ENGINE, {"chain": chain.name}))
    row = (
        None if fresh else session.scalar(select(Escalation).where(Escalation.group_id == group.id))
    )
    # What a run starts with, new or restarted (same fields on Run and Escalation).
    fresh_start: dict[str, Any] = {
        "chain_id": chain.id,
        "route_id": route_id,
        "snapshot": snapshot_json,
        "status": "active",
        "wake_at": now,
        "ack_timeout_minutes": chain.ack_timeout_minutes,
        "finished_reason": None,
        "updated_at": now,
    }
    run: Escalation | Run
    if row is None:
        run = Run(
            id=None,
            group_id=group.id,
            state={**state.to_json(), "epoch": 0},
            nobody_notified=0,
            created_at=now,
            **fresh_start,
        )
        batch.runs.append(run)  # written by the batch's flush, after this step
    else:
        run = row
        for name, value in fresh_start.items():
            setattr(run, name, value)
        run.state = {**state.to_json(), "epoch": int(row.state.get("epoch", 0)) + 1}
    step(session, run, group, now=now, batch=batch)
    if own_batch:
        batch.flush()


def run_due(
    session: Session,
    *,
    now: datetime,
    lock: bool,
    base_url: str,
    ack_url_for: Callable[[int, int], str | None],
) -> int:
    """Advance every active escalation whose wake time has come."""
    query = (
        select(*(_RUNS.c[name] for name in _RUN_FIELDS))
        .where(_RUNS.c.status == "active", _RUNS.c.wake_at <= now)
        .order_by(_RUNS.c.wake_at)
        .limit(BATCH)
    )
    if lock:
        query = query.with_for_update(skip_locked=True)
    rows = [Run(*row) for row in session.execute(query)]
    if not rows:
        return 0
    groups = store.group_rows(session, (r.group_id for r in rows))
    batch = StepBatch(session, now, base_url=base_url, ack_url_for=ack_url_for)
    for row in rows:
        batch.stepped.append(row)
        group = groups.get(row.group_id)
        if group is None or group.status != "firing":
            # Acknowledged, silenced or resolved since: the consumer pauses or ends it.
            row.status = (
                "paused" if group is not None and group.status != "resolved" else "finished"
            )
            continue
        step(session, row, group, now=now, batch=batch)
    batch.flush()
    return len(rows)


def step(
    session: Session,
    row: Escalation | Run,
    group: GroupRow,
    *,
    now: datetime,
    batch: StepBatch,
) -> None:
    snapshot = batch.snapshot(row.snapshot)
    state = EscalationState.from_json(row.state)
    facts = Facts(
        alert_counts={
            minutes: _alerts_since(session, group.id, now - timedelta(minutes=minutes))
            for minutes in snapshot.alert_rate_windows()
        }
    )
    decision = advance(snapshot, state, facts, now)
    epoch = int(row.state.get("epoch", 0))
    for action in decision.actions:
        _execute(session, row, group, action, epoch=epoch, now=now, batch=batch)
    row.state = {**decision.state.to_json(), "epoch": epoch}
    row.updated_at = now
    if decision.finished:
        row.status = "finished"
        row.wake_at = None
        row.finished_reason = decision.reason
        batch.events.append((group.id, "escalation_finished", ENGINE, {"reason": decision.reason}))
    else:
        row.wake_at = decision.wake_at


def _alerts_since(session: Session, group_id: int, since: datetime) -> int:
    return int(
        session.scalar(
            select(func.count(Alert.id)).where(
                Alert.group_id == group_id, Alert.first_seen_at >= since
            )
        )
        or 0
    )


def _execute(
    session: Session,
    row: Escalation | Run,
    group: GroupRow,
    action: Action,
    *,
    epoch: int,
    now: datetime,
    batch: StepBatch,
) -> None:
    effect = action.effect
    # One escalation per group, so the group id and run number name it (no need
    # to flush the row first to learn its id).
    cause = f"e{group.id}.{epoch}:s{action.step_index}:r{action.repeat}"
    if isinstance(effect, NotifyUsers | NotifyOnCall | NotifyTeam):
        users, what = _targets(session, effect, now, batch)
        if not users:
            row.nobody_notified += 1
            batch.events.append((group.id, "nobody_to_notify", ENGINE, {"step": what}))
            return
        urgency = "important" if effect.important else "default"
        for user in users:
            batch.notify(group=group, user_id=user.id, urgency=urgency, cause=cause)
        batch.events.append(
            (
                group.id,
                "notified",
                ENGINE,
                {"step": what, "users": [u.email for u in users], "urgency": urgency},
            )
        )
    elif isinstance(effect, TriggerWebhook):
        from watchkeeper.notify.outgoing import queue_webhook

        queue_webhook(
            session,
            webhook_id=effect.webhook_id,
            group=group,
            event="escalation_step",
            cause=cause,
            now=now,
        )
    elif isinstance(effect, Resolve):
        store.resolve_groups(session, group_ids=[group.id], actor=ENGINE, now=now)
    elif isinstance(effect, DeclareIncident):
        if not incident_hooks:
            store.add_events(
                session,
                [
                    (
                        group.id,
                        "incident_not_declared",
                        ENGINE,
                        {"reason": "incidents are not installed"},
                    )
                ],
                now,
            )
        for hook in incident_hooks:
            hook(session, group, effect.severity, now)


def _targets(
    session: Session,
    effect: NotifyUsers | NotifyOnCall | NotifyTeam,
    now: datetime,
    batch: StepBatch,
) -> tuple[list[User], str]:
    if isinstance(effect, NotifyUsers):
        ids: Sequence[int] = effect.user_ids
        what = "users"
    elif isinstance(effect, NotifyTeam):
        ids = session.scalars(
            select(TeamMembership.user_id).where(TeamMembership.team_id == effect.team_id)
        ).all()
        what = f"team {effect.team_id}"
    else:
        from watchkeeper.schedules.reports import who_is_on_call

        try:
            ids = who_is_on_call(session, schedule_id=effect.schedule_id, at=now)
        except Exception as exc:  # a deleted schedule must not stop the chain
            log.warning("on-call lookup for schedule %s failed: %s", effect.schedule_id, exc)
            ids = ()
        what = f"on call in schedule {effect.schedule_id}"
    if not ids:
        return [], what
    return batch.users(ids), what


def pause(session: Session, *, group_ids: Sequence[int], now: datetime) -> None:
    for row in session.scalars(
        select(Escalation).where(Escalation.group_id.in_(group_ids), Escalation.status == "active")
    ):
        row.status = "paused"
        row.updated_at = now
    dispatch.cancel_user_notifications(session, group_ids=group_ids)


def resume(session: Session, *, group_ids: Sequence[int], now: datetime) -> None:
    """Continue paused escalations where they were (their pending wait restarts now)."""
    for row in session.scalars(
        select(Escalation).where(Escalation.group_id.in_(group_ids), Escalation.status == "paused")
    ):
        row.status = "active"
        state: dict[str, Any] = dict(row.state)
        state["wake_at"] = None
        row.state = state
        row.wake_at = now
        row.updated_at = now


def finish(session: Session, *, group_ids: Sequence[int], reason: str, now: datetime) -> None:
    for row in session.scalars(
        select(Escalation).where(
            Escalation.group_id.in_(group_ids), Escalation.status != "finished"
        )
    ):
        row.status = "finished"
        row.wake_at = None
        row.finished_reason = reason
        row.updated_at = now
    dispatch.cancel_user_notifications(session, group_ids=group_ids)


def expire_acknowledgements(
    session: Session,
    *,
    now: datetime,
    base_url: str,
    ack_url_for: Callable[[int, int], str | None],
) -> int:
    """Restart escalations whose acknowledgement timed out on a still-open group."""
    rows = session.execute(
        select(Escalation, AlertGroup)
        .join(AlertGroup, AlertGroup.id == Escalation.group_id)
        .where(
            # A chain that already ran to its end restarts too: the timeout means
            # "whoever acknowledged is no longer on it", not "continue the chain".
            _PAUSED_OR_FINISHED,
            Escalation.ack_timeout_minutes.is_not(None),
            AlertGroup.status == "acknowledged",
        )
        .limit(BATCH)
    ).all()
    restarted = 0
    for row, group in rows:
        assert row.ack_timeout_minutes is not None
        if group.acknowledged_at is None or (
            group.acknowledged_at + timedelta(minutes=row.ack_timeout_minutes) > now
        ):
            continue
        group.status = "firing"
        group.acknowledged_at = None
        group.acknowledged_by = None
        group.updated_at = now
        store.add_events(
            session,
            [(group.id, "acknowledgement_expired", ENGINE, {"minutes": row.ack_timeout_minutes})],
            now,
        )
        chain = session.get(EscalationChain, row.chain_id) if row.chain_id else None
        if chain is None:
            row.status = "active"
            row.wake_at = now
            continue
        start(
            session,
            group=GroupRow.of(group),
            chain=chain,
            route_id=row.route_id,
            now=now,
            base_url=base_url,
            ack_url_for=ack_url_for,
        )
        restarted += 1
    return restarted
