"""One writer commit storing many payloads at once: the group-commit path of ingest.

Under load the writer thread hands ingest_many every payload waiting at that
moment, across integrations, with the same alert more than once (a trigger
then its resolve). Each payload must come out as if it had been stored alone.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from watchkeeper.alerts import batch
from watchkeeper.alerts.ingest import IngestGate
from watchkeeper.alerts.models import Alert, AlertGroup, Integration
from watchkeeper.alerts.writer import IngestJob, write_jobs
from watchkeeper.clock import FixedClock


def pd(key: str, action: str = "trigger") -> dict[str, Any]:
    return {
        "routing_key": "pd-token",
        "event_action": action,
        "dedup_key": key,
        "payload": {"summary": f"event {key}", "source": "test", "severity": "critical"},
    }


def prom(*instances: str) -> list[dict[str, Any]]:
    return [{"labels": {"alertname": "Down", "instance": i}} for i in instances]


def test_one_commit_of_many_payloads_stores_each_as_if_alone(
    app: FastAPI, clock: FixedClock
) -> None:
    ctx = app.state.ctx
    with ctx.db.write() as session:
        for name, kind in (("pd", "pagerduty"), ("prom", "prometheus")):
            session.add(
                Integration(name=name, kind=kind, token=f"{name}-token", created_at=clock.now())
            )
    gate: IngestGate = ctx.services["ingest"]
    pd_integration = gate.integration("pd-token")
    prom_integration = gate.integration("prom-token")

    def job(integration: Integration, body: object) -> IngestJob:
        return gate.parse(integration, body, json.dumps(body))

    with ctx.db.write() as session:  # an alert already firing before the batch
        (before,) = write_jobs(session, [job(pd_integration, pd("old"))], ctx)

    batch = [
        job(pd_integration, pd("k1")),
        job(prom_integration, prom("a", "b")),
        job(pd_integration, pd("k1", "resolve")),  # same alert again: a second round
        job(pd_integration, pd("old")),  # a repeat of the open alert
        job(pd_integration, pd("k2")),
        job(pd_integration, pd("k2", "acknowledge")),
    ]
    with ctx.db.write() as session:
        results = write_jobs(session, batch, ctx)

    k1, both, k1_resolve, old, k2, k2_ack = results
    assert len({r.payload_id for r in results}) == 6
    assert len(k1.created_group_ids) == 1 and k1.new_alerts == 1
    assert k1_resolve.resolved_alerts == 1
    assert k1_resolve.resolved_group_ids == k1.created_group_ids
    assert both.new_alerts == 2 and len(both.created_group_ids) == 1  # grouped by alertname
    assert old.repeated_alerts == 1 and old.created_group_ids == []
    assert old.touched_group_ids == set(before.created_group_ids)
    assert k2_ack.acknowledged_group_ids == k2.created_group_ids

    with ctx.db.read() as session:
        groups = session.scalars(select(AlertGroup)).all()
        status = {g.id: g.status for g in groups}
        counts = {g.id: (g.alerts_count, g.firing_count) for g in groups}
        repeat_count = session.scalar(
            select(Alert.repeat_count).where(Alert.group_id == before.created_group_ids[0])
        )
    assert status[k1.created_group_ids[0]] == "resolved"
    assert status[k2.created_group_ids[0]] == "acknowledged"
    assert status[both.created_group_ids[0]] == "firing"
    assert counts[both.created_group_ids[0]] == (2, 2)
    assert counts[k1.created_group_ids[0]] == (1, 0)
    assert repeat_count == 1


def test_lookups_of_many_keys_go_in_chunks(
    app: FastAPI, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLite looks open alerts and groups up a chunk of keys per statement.
    monkeypatch.setattr(batch, "SQLITE_CHUNK", 7)
    ctx = app.state.ctx
    with ctx.db.write() as session:
        session.add(
            Integration(
                name="prom",
                kind="prometheus",
                token="prom-token",
                options={"group_by": ["instance"]},
                created_at=clock.now(),
            )
        )
    gate: IngestGate = ctx.services["ingest"]
    integration = gate.integration("prom-token")
    body = prom(*(f"i{n}" for n in range(20)))
    with ctx.db.write() as session:
        (first,) = write_jobs(session, [gate.parse(integration, body, json.dumps(body))], ctx)
    with ctx.db.write() as session:
        (again,) = write_jobs(session, [gate.parse(integration, body, json.dumps(body))], ctx)
    assert (first.new_alerts, len(first.created_group_ids)) == (20, 20)
    assert (again.new_alerts, again.repeated_alerts, again.created_group_ids) == (0, 20, [])
    with ctx.db.read() as session:
        assert len(session.scalars(select(AlertGroup.id)).all()) == 20


def test_an_open_alert_sent_again_updates_its_row_until_it_resolves(
    app: FastAPI, clock: FixedClock
) -> None:
    # Prometheus re-sends every firing alert each minute: the open alert's row
    # takes the new annotations, end time and payload, and counts the repeat.
    ctx = app.state.ctx
    with ctx.db.write() as session:
        session.add(
            Integration(name="prom", kind="prometheus", token="prom", created_at=clock.now())
        )
    gate: IngestGate = ctx.services["ingest"]
    first_seen = clock.now()

    def send(annotations: dict[str, str], ends_at: str | None) -> Any:
        body = [{"labels": {"alertname": "Down", "instance": "a"}, "annotations": annotations}]
        if ends_at:
            body[0]["endsAt"] = ends_at
        job = gate.parse(gate.integration("prom"), body, json.dumps(body))
        with ctx.db.write() as session:
            return write_jobs(session, [job], ctx)[0]

    send({"summary": "first"}, None)
    clock.advance(timedelta(minutes=1))
    later = send({"summary": "second ü", "runbook": "https://r.example/x"}, "2099-01-01T00:00:00Z")
    clock.advance(timedelta(minutes=1))
    last = send({"summary": "third ü"}, "2099-01-02T00:00:00Z")

    assert (later.repeated_alerts, last.repeated_alerts, last.new_alerts) == (1, 1, 0)
    with ctx.db.read() as session:
        alert = session.scalars(select(Alert)).one()
    assert alert.repeat_count == 2
    assert alert.first_seen_at == first_seen
    assert alert.last_seen_at == first_seen + timedelta(minutes=2)
    assert alert.ends_at == datetime(2099, 1, 2, tzinfo=UTC)
    assert alert.annotations == {"summary": "third ü"}
    assert alert.payload_id == last.payload_id
    assert alert.status == "firing"

    # Sent with an end time already past: the alert resolves, and stops being
    # the open alert of its label set.
    clock.advance(timedelta(minutes=1))
    ended = clock.now() - timedelta(seconds=30)
    resolved = send({"summary": "over"}, ended.isoformat())
    assert resolved.resolved_alerts == 1
    with ctx.db.read() as session:
        alert = session.scalars(select(Alert)).one()
    assert (alert.status, alert.open_fingerprint) == ("resolved", None)
    assert alert.resolved_at == alert.last_seen_at == clock.now()
    assert alert.ends_at == ended
    assert alert.repeat_count == 2
