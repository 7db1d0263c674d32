"""Store many payloads at once with set-based SQL: the group-commit half of ingest.

The writer thread hands over every payload waiting at that moment. Doing one
statement per kind of change for the whole batch (insert payloads, find open
alerts, insert new alerts, update repeats, open groups, move counters), not
per payload, is what makes single-event senders like PagerDuty clients cheap.

Order still matters when two payloads in a batch touch the same alert (a
trigger followed by a resolve): payloads are split into rounds so that each
alert identity appears at most once per round, and rounds run in order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from watchkeeper.alerts import store
from watchkeeper.alerts.models import Integration
from watchkeeper.alerts.normalized import NormalizedAlert
from watchkeeper.alerts.store import (
    ALERTS,
    GROUPS,
    PAYLOADS,
    SEVERITY_RANK,
    Actor,
    IngestResult,
)
from watchkeeper.db import pq
from watchkeeper.db.bulk import BulkInsert, BulkUpdate, Pipeline, driver_of, prepared

# PostgreSQL lookups, sent together with the payload insert in one pipeline.
# Open alerts: one index probe per fingerprint whatever the table statistics
# say. With "open_fingerprint IN (…hundreds…)" on a young table (not yet
# analyzed) the planner scans every alert of the integration instead: 5x
# slower at 40,000. LIMIT 1 (the key is unique) keeps the subquery from being
# flattened into a join the planner could turn into that scan again.
_OPEN_ALERTS_PG = (
    "SELECT f.fp, a.id, a.group_id FROM unnest(%s::text[]) AS f(fp) "
    "CROSS JOIN LATERAL (SELECT id, group_id FROM alerts "
    "WHERE integration_id = %s AND open_fingerprint = f.fp LIMIT 1) AS a"
)
# Open groups by key, one index probe per key for the same reason (a plain
# join scanned every group the integration ever had: 0.8 ms per commit at
# 3,000). A key with none gets an id from the groups' sequence at once, so
# that a new group can be inserted with its alerts in one pipeline instead of
# waiting for INSERT … RETURNING. (An id drawn for a group that is then
# reopened instead, or lost to a race with another process, is a gap.)
_OPEN_GROUPS_PG = (
    "SELECT k.key, g.id, CASE WHEN g.id IS NULL "
    "THEN nextval(pg_get_serial_sequence('alert_groups', 'id')) END "
    "FROM unnest(%s::text[]) AS k(key) "
    "LEFT JOIN LATERAL (SELECT id FROM alert_groups "
    "WHERE integration_id = %s AND open_key = k.key LIMIT 1) AS g ON true"
)

# SQLite lookups, by the driver: one statement per integration and CHUNK keys
# (SQLite's limit on bound values is far above it). Built by SQLAlchemy for
# every commit, these two cost more than a single PagerDuty event's inserts.
_OPEN_ALERTS_SQLITE = (
    "SELECT open_fingerprint, id, group_id FROM alerts "
    "WHERE integration_id = ? AND open_fingerprint IN ({})"
)
_OPEN_GROUPS_SQLITE = (
    "SELECT open_key, id FROM alert_groups WHERE integration_id = ? AND open_key IN ({})"
)
SQLITE_CHUNK = 1000

NEW_PAYLOADS = BulkInsert(PAYLOADS, ("integration_id", "received_at", "body"))
NEW_GROUPS = BulkInsert(
    GROUPS,
    (
        "integration_id",
        "team_id",
        "group_key",
        "open_key",
        "status",
        "title",
        "message",
        "severity",
        "labels",
        "source_url",
        "links",
        "alerts_count",
        "firing_count",
        "maintenance",
        "created_at",
        "updated_at",
        "last_alert_at",
    ),
)
NEW_GROUPS_WITH_IDS = BulkInsert(GROUPS, ("id", *NEW_GROUPS.columns))
NEW_ALERTS = BulkInsert(
    ALERTS,
    (
        "group_id",
        "integration_id",
        "fingerprint",
        "open_fingerprint",
        "status",
        "title",
        "message",
        "severity",
        "labels",
        "annotations",
        "source_url",
        "links",
        "starts_at",
        "ends_at",
        "first_seen_at",
        "last_seen_at",
        "repeat_count",
        "payload_id",
    ),
)

# Open alerts sent again (what Prometheus does every minute) or resolved: a
# row each by id, through the driver. Through SQLAlchemy, its per-row bind
# processing made the writer's CPU per repeated alert twice that of the
# driver path on SQLite (41 -> 21 µs) and a third more on PostgreSQL (47 -> 36).
REPEATS = BulkUpdate(
    ALERTS,
    ("last_seen_at", "ends_at", "annotations", "payload_id"),
    also=("repeat_count = alerts.repeat_count + 1",),
)
RESOLVES = BulkUpdate(
    ALERTS,
    ("resolved_at", "last_seen_at", "ends_at"),
    also=("status = 'resolved'", "open_fingerprint = NULL"),
)


@dataclass
class Payload:
    """One accepted request: its integration, alerts and raw body."""

    integration: Integration
    alerts: Sequence[NormalizedAlert]
    raw: str


@dataclass
class _Found:
    """What a round's lookups found: open alerts and open groups by (integration, key)."""

    alerts: dict[tuple[int, str], tuple[int, int]]
    groups: dict[tuple[int, str], int]
    # Ids drawn for the keys with no open group, should they need a new one.
    new_group_ids: dict[tuple[int, str], int]


@dataclass(slots=True)
class _Item:
    job: int
    integration: Integration
    integration_id: int  # read once: ORM attribute access costs more than the insert
    alert: NormalizedAlert


def ingest_many(
    session: Session, payloads: Sequence[Payload], now: datetime, *, commit: bool = False
) -> list[IngestResult]:
    """Store payloads in order; one result per payload.

    ``commit``: the caller commits the session right after this and runs
    nothing more in the transaction. On PostgreSQL the COMMIT may then travel
    with the last round's writes (``Pipeline.run``) when nothing follows them,
    saving one of a commit's three round trips (figures in
    docs/integrations.md). The caller commits the session as usual.
    """
    rounds: list[list[_Item]] = []
    fingerprints: list[list[str]] = []
    last_round: dict[tuple[int, str], int] = {}
    for index, payload in enumerate(payloads):
        integration_id = payload.integration.id
        latest: dict[str, NormalizedAlert] = {}
        for alert in payload.alerts:
            latest.pop(alert.fingerprint, None)  # later entries win
            latest[alert.fingerprint] = alert
        fingerprints.append(list(latest))
        keys = [(integration_id, fp) for fp in latest]
        number = max((last_round[k] + 1 for k in keys if k in last_round), default=0)
        for key in keys:
            last_round[key] = number
        while len(rounds) <= number:
            rounds.append([])
        rounds[number].extend(
            _Item(index, payload.integration, integration_id, a) for a in latest.values()
        )
    rows = [(p.integration.id, now, p.raw) for p in payloads]
    postgres = driver_of(session)[0] == "postgresql"
    if postgres:  # the first round's lookups travel with the payload insert
        ids, first = _lookup_postgres(session, rounds[0] if rounds else [], rows)
    else:
        ids = NEW_PAYLOADS.run_returning_ids(session, rows)
    results = [IngestResult(payload_id=pid) for pid in ids]
    for result, fps in zip(results, fingerprints, strict=True):
        result.fingerprints = fps
    for number, items in enumerate(rounds):
        if not postgres:
            found = _lookup_sqlite(session, items)
        elif number == 0:
            found = first
        else:
            found = _lookup_postgres(session, items)[1]
        last = number == len(rounds) - 1
        _Round(session, items, results, ids, now, found).run(commit=commit and last)
    return results


def _lookup_keys(items: Sequence[_Item]) -> tuple[dict[int, list[str]], dict[int, set[str]]]:
    """The fingerprints of a round's alerts and the group keys of those that fire."""
    fingerprints: dict[int, list[str]] = defaultdict(list)
    group_keys: dict[int, set[str]] = defaultdict(set)
    for item in items:
        fingerprints[item.integration_id].append(item.alert.fingerprint)
        if item.alert.action == "fire":
            group_keys[item.integration_id].add(item.alert.group_key)
    return fingerprints, group_keys


def _lookup_sqlite(session: Session, items: Sequence[_Item]) -> _Found:
    """A round's open alerts and open groups, looked up by the driver."""
    fingerprints, group_keys = _lookup_keys(items)
    found = _Found({}, {}, {})
    cursor = driver_of(session)[1].cursor()
    try:
        for iid, fps in fingerprints.items():
            for chunk in _chunks(fps):
                sql = _OPEN_ALERTS_SQLITE.format(", ".join("?" * len(chunk)))
                for fingerprint, alert_id, group_id in cursor.execute(sql, (iid, *chunk)):
                    found.alerts[(iid, fingerprint)] = (alert_id, group_id)
        for iid, keys in group_keys.items():
            for chunk in _chunks(sorted(keys)):
                sql = _OPEN_GROUPS_SQLITE.format(", ".join("?" * len(chunk)))
                for key, group_id in cursor.execute(sql, (iid, *chunk)):
                    found.groups[(iid, key)] = group_id
    finally:
        cursor.close()
    return found


def _by_id(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Update rows (ending with the alert id) in id order.

    Concurrent writers on PostgreSQL (two server processes, or two
    Prometheus replicas sending the same alerts) then lock the rows they
    share in the same order, and wait for each other instead of deadlocking.
    """
    return sorted(rows, key=lambda row: int(row[-1]))


def _chunks(values: Sequence[str]) -> list[Sequence[str]]:
    return [values[i : i + SQLITE_CHUNK] for i in range(0, len(values), SQLITE_CHUNK)]


def _lookup_postgres(
    session: Session, items: Sequence[_Item], payload_rows: Sequence[Sequence[Any]] = ()
) -> tuple[list[int], _Found]:
    """Insert the payloads and look up a round's open alerts and groups: one round trip.

    Each separate statement costs a round trip, on this kind of machine about
    80 µs of CPU on each side besides the wait; a single PagerDuty event's
    commit used to make a dozen.
    """
    _, driver = driver_of(session)
    fingerprints, group_keys = _lookup_keys(items)
    if pq.AVAILABLE:
        done = _lookup_pq(driver, fingerprints, group_keys, payload_rows)
        if done is not None:
            return done
    payloads = driver.cursor()
    alert_reads = [(iid, driver.cursor()) for iid in fingerprints]
    group_reads = [(iid, driver.cursor()) for iid in group_keys]
    try:
        # Prepared: parsing and planning them took ~15 % of the server's CPU
        # per commit (0.88 -> 0.74 ms for one PagerDuty event). Their generic
        # plan is the same index probe per key whatever the statistics
        # (tests/alerts/test_lookup_plans.py).
        with prepared(driver), driver.pipeline():
            if payload_rows:
                NEW_PAYLOADS.send_returning(payloads, payload_rows)
            for iid, cursor in alert_reads:
                cursor.execute(_OPEN_ALERTS_PG, (fingerprints[iid], iid))
            for iid, cursor in group_reads:
                cursor.execute(_OPEN_GROUPS_PG, (sorted(group_keys[iid]), iid))
        ids = BulkInsert.returned_ids(payloads) if payload_rows else []
        found = _Found({}, {}, {})
        for iid, cursor in alert_reads:
            for fingerprint, alert_id, group_id in cursor.fetchall():
                found.alerts[(iid, fingerprint)] = (alert_id, group_id)
        for iid, cursor in group_reads:
            for key, group_id, new_id in cursor.fetchall():
                if group_id is not None:
                    found.groups[(iid, key)] = group_id
                else:
                    found.new_group_ids[(iid, key)] = new_id
    finally:
        for cursor in (payloads, *(c for _, c in alert_reads), *(c for _, c in group_reads)):
            cursor.close()
    return ids, found


def _lookup_pq(
    driver: Any,
    fingerprints: dict[int, list[str]],
    group_keys: dict[int, set[str]],
    payload_rows: Sequence[Sequence[Any]],
) -> tuple[list[int], _Found] | None:
    """``_lookup_postgres`` through libpq itself (db/pq.py); None to use psycopg's cursors."""
    statements: list[tuple[str, Sequence[Any]]] = []
    if payload_rows:
        payload_statement = NEW_PAYLOADS.statement_postgres(payload_rows, returning=True)
        if payload_statement is None:
            return None
        statements.append(payload_statement)
    alert_ids = list(fingerprints)
    group_ids = list(group_keys)
    statements += [(_OPEN_ALERTS_PG, (fingerprints[iid], iid)) for iid in alert_ids]
    statements += [(_OPEN_GROUPS_PG, (sorted(group_keys[iid]), iid)) for iid in group_ids]
    answered = pq.try_run(driver, statements)
    if answered is None:
        return None
    results = iter(answered)
    # Ascending ids are row order (see BulkInsert.returned_ids).
    ids = sorted(int(row[0]) for row in next(results)) if payload_rows else []
    found = _Found({}, {}, {})
    for iid in alert_ids:
        for fingerprint, alert_id, group_id in next(results):
            found.alerts[(iid, fingerprint)] = (alert_id, group_id)
    for iid in group_ids:
        for key, group_id, new_id in next(results):
            if group_id is not None:
                found.groups[(iid, key)] = group_id
            else:
                found.new_group_ids[(iid, key)] = new_id
    return ids, found


class _Round:
    def __init__(
        self,
        session: Session,
        items: list[_Item],
        results: list[IngestResult],
        payload_ids: Sequence[int],
        now: datetime,
        found: _Found,
    ) -> None:
        self.session = session
        # The round's lookups, made before it (_lookup_postgres, _lookup_sqlite).
        self.found = found
        self.items = items
        self.results = results
        self.payload_ids = payload_ids
        self.now = now
        self.events: list[tuple[int, str, Actor, dict[str, Any]]] = []
        self.outbox: list[tuple[str, int | None, dict[str, Any]]] = []
        # integration id -> group id -> [added, firing change, fired]
        self.deltas: dict[int, dict[int, list[int]]] = defaultdict(dict)
        self.integrations = {item.integration_id: item.integration for item in items}
        # Groups this round opened, with their alerts counted at insert.
        self.created: set[int] = set()
        # New alerts, timeline entries and outbox events: sent together (one
        # round trip on PostgreSQL) before anything below reads them.
        self.writes = Pipeline()

    def run(self, *, commit: bool = False) -> None:
        """Store the round; ``commit``: nothing follows it in the transaction (see ingest_many)."""
        open_alerts = self.found.alerts  # (integration, fingerprint) → (alert id, group id)
        fire = [i for i in self.items if i.alert.action == "fire"]
        repeats = [i for i in fire if (i.integration_id, i.alert.fingerprint) in open_alerts]
        fresh = [i for i in fire if (i.integration_id, i.alert.fingerprint) not in open_alerts]
        resolving = [
            i
            for i in self.items
            if i.alert.action == "resolve"
            and (i.integration_id, i.alert.fingerprint) in open_alerts
        ]
        acking = [
            i
            for i in self.items
            if i.alert.action == "acknowledge"
            and (i.integration_id, i.alert.fingerprint) in open_alerts
        ]
        for item in self.items:
            if item.alert.action != "fire" and item not in resolving and item not in acking:
                self.results[item.job].ignored_alerts += 1
        if repeats:
            self._repeat(repeats, open_alerts)
        if fresh:
            self._insert(fresh)
        if resolving:
            self._resolve(resolving, open_alerts)
        store.add_events(self.session, self.events, self.now, self.writes)
        store.outbox(self.session, self.now, self.outbox, self.writes)
        # Counter updates and acknowledgements come after the writes: then
        # the writes are not the transaction's last statements.
        self.writes.run(self.session, commit=commit and not self.deltas and not acking)
        for integration_id, deltas in self.deltas.items():
            actor = Actor("integration", self.integrations[integration_id].name)
            resolved = store.apply_deltas(self.session, deltas=deltas, actor=actor, now=self.now)
            self._credit(resolved, "resolved_group_ids")
        for item in acking:
            group_id = open_alerts[(item.integration_id, item.alert.fingerprint)][1]
            self.results[item.job].touched_group_ids.add(group_id)
        for integration_id in {i.integration_id for i in acking}:
            groups = sorted(
                {
                    open_alerts[(i.integration_id, i.alert.fingerprint)][1]
                    for i in acking
                    if i.integration_id == integration_id
                }
            )
            actor = Actor("integration", self.integrations[integration_id].name)
            acked = store.acknowledge_groups(
                self.session, group_ids=groups, actor=actor, now=self.now
            )
            self._credit(acked, "acknowledged_group_ids")

    def _credit(self, group_ids: Sequence[int], attribute: str) -> None:
        """Tell each payload's result which of the groups it touched changed state."""
        wanted = set(group_ids)
        for job in sorted({item.job for item in self.items}):
            result = self.results[job]
            getattr(result, attribute).extend(sorted(wanted & result.touched_group_ids))

    def _delta(
        self, item: _Item, group_id: int, *, added: int = 0, firing: int = 0, fired: bool = False
    ) -> None:
        self._move(item.integration_id, group_id, added=added, firing=firing, fired=fired)
        self.results[item.job].touched_group_ids.add(group_id)

    def _move(
        self, integration_id: int, group_id: int, *, added: int, firing: int, fired: bool
    ) -> None:
        """Add to a group's pending counter changes (applied once per round)."""
        entry = self.deltas[integration_id].setdefault(group_id, [0, 0, 0])
        entry[0] += added
        entry[1] += firing
        entry[2] |= int(fired)

    def _repeat(
        self, items: list[_Item], open_alerts: dict[tuple[int, str], tuple[int, int]]
    ) -> None:
        now, payload_ids = self.now, self.payload_ids
        rows = [
            (
                now,
                i.alert.ends_at,
                i.alert.annotations,
                payload_ids[i.job],
                open_alerts[(i.integration_id, i.alert.fingerprint)][0],
            )
            for i in items
        ]
        REPEATS.run(self.session, _by_id(rows))
        for item in items:
            self.results[item.job].repeated_alerts += 1
            self._delta(
                item, open_alerts[(item.integration_id, item.alert.fingerprint)][1], fired=True
            )

    def _insert(self, items: list[_Item]) -> None:
        by_key: dict[tuple[int, str], list[_Item]] = defaultdict(list)
        for item in items:
            by_key[(item.integration_id, item.alert.group_key)].append(item)
        group_ids = self._open_groups(by_key)
        now = self.now
        self.writes.insert(
            NEW_ALERTS,
            (
                (
                    group_ids[(i.integration_id, a.group_key)],
                    i.integration_id,
                    a.fingerprint,
                    a.fingerprint,
                    "firing",
                    a.title,
                    a.message,
                    a.severity,
                    a.labels,
                    a.annotations,
                    a.source_url,
                    store.link_dicts(a) if a.links else [],
                    a.starts_at,
                    a.ends_at,
                    now,
                    now,
                    0,
                    self.payload_ids[i.job],
                )
                for i in items
                for a in (i.alert,)
            ),
        )
        added: dict[int, int] = defaultdict(int)
        results = self.results
        for item in items:
            gid = group_ids[(item.integration_id, item.alert.group_key)]
            result = results[item.job]
            result.new_alerts += 1
            result.touched_group_ids.add(gid)
            added[gid] += 1
        integration_of = {gid: key[0] for key, gid in group_ids.items()}
        for gid, count in added.items():
            if gid not in self.created:  # a new group was inserted with its alerts counted
                self._move(integration_of[gid], gid, added=count, firing=count, fired=True)
        # A group opened by this round says so with group.created; only alerts
        # joining a group that was already open are news of their own.
        self.outbox.extend(
            ("group.alert_added", gid, {"new_alerts": n})
            for gid, n in sorted(added.items())
            if gid not in self.created
        )

    def _open_groups(
        self, by_key: dict[tuple[int, str], list[_Item]]
    ) -> dict[tuple[int, str], int]:
        known = self.found.groups  # every firing item's key was looked up
        found = {key: known[key] for key in by_key if key in known}
        missing: dict[int, list[str]] = defaultdict(list)
        for integration_id, group_key in by_key:
            if (integration_id, group_key) not in found:
                missing[integration_id].append(group_key)
        for integration_id, keys in missing.items():
            reopened = self._reopen(self.integrations[integration_id], keys)
            found.update({(integration_id, k): gid for k, gid in reopened.items()})
        to_create = [k for k in by_key if k not in found]
        if not to_create:
            return found
        new_rows = []
        for wanted in to_create:
            group_items = by_key[wanted]
            integration = group_items[0].integration
            alerts = [i.alert for i in group_items]
            worst = min(alerts, key=lambda a: SEVERITY_RANK.get(a.severity, 9))
            new_rows.append(
                (
                    integration.id,
                    integration.team_id,
                    wanted[1],
                    wanted[1],
                    "firing",
                    alerts[0].title,
                    alerts[0].message,
                    worst.severity,
                    store.common_labels(alerts),
                    alerts[0].source_url,
                    store.link_dicts(alerts[0]),
                    len(alerts),  # alerts_count and firing_count: no update needed later
                    len(alerts),
                    integration.maintenance,
                    self.now,
                    self.now,
                    self.now,
                )
            )
        drawn = self.found.new_group_ids
        if all(key in drawn for key in to_create):  # PostgreSQL: sent with the alerts
            created = [drawn[key] for key in to_create]
            rows = [(gid, *row) for gid, row in zip(created, new_rows, strict=True)]
            self.writes.insert(NEW_GROUPS_WITH_IDS, rows)
        else:
            created = NEW_GROUPS.run_returning_ids(self.session, new_rows)
        self.created.update(created)
        for wanted, gid in zip(to_create, created, strict=True):
            found[wanted] = gid
            integration = by_key[wanted][0].integration
            for job in sorted({i.job for i in by_key[wanted]}):
                self.results[job].created_group_ids.append(gid)
            actor = Actor("integration", integration.name)
            self.events.append((gid, "created", actor, {"maintenance": integration.maintenance}))
            self.outbox.append(
                (
                    "group.created",
                    gid,
                    {"integration_id": integration.id, "maintenance": integration.maintenance},
                )
            )
        return found

    def _reopen(self, integration: Integration, keys: list[str]) -> dict[str, int]:
        """Reopen groups resolved within the integration's reopen window, if one is set."""
        minutes = (integration.options or {}).get("reopen_within_minutes")
        if not isinstance(minutes, int) or minutes <= 0:
            return {}
        rows = self.session.execute(
            select(GROUPS.c.group_key, func.max(GROUPS.c.id))
            .where(
                GROUPS.c.integration_id == integration.id,
                GROUPS.c.group_key.in_(keys),
                GROUPS.c.status == "resolved",
                GROUPS.c.merged_into_id.is_(None),
                GROUPS.c.resolved_at >= self.now - timedelta(minutes=minutes),
            )
            .group_by(GROUPS.c.group_key)
        ).all()
        reopened: dict[str, int] = {str(key): int(gid) for key, gid in rows}
        if reopened:
            self.session.execute(
                update(GROUPS)
                .where(GROUPS.c.id == bindparam("b_id"))
                .values(
                    status="firing",
                    open_key=bindparam("b_key"),
                    resolved_at=None,
                    resolved_by=None,
                    acknowledged_at=None,
                    acknowledged_by=None,
                    updated_at=self.now,
                ),
                [{"b_id": gid, "b_key": key} for key, gid in reopened.items()],
            )
            actor = Actor("integration", integration.name)
            self.events.extend((gid, "reopened", actor, {}) for gid in reopened.values())
            self.outbox.extend(("group.reopened", gid, {}) for gid in reopened.values())
        return reopened

    def _resolve(
        self, items: list[_Item], open_alerts: dict[tuple[int, str], tuple[int, int]]
    ) -> None:
        now = self.now
        rows = [
            (
                now,
                now,
                i.alert.ends_at or now,
                open_alerts[(i.integration_id, i.alert.fingerprint)][0],
            )
            for i in items
        ]
        RESOLVES.run(self.session, _by_id(rows))
        for item in items:
            self.results[item.job].resolved_alerts += 1
            self._delta(
                item, open_alerts[(item.integration_id, item.alert.fingerprint)][1], firing=-1
            )
