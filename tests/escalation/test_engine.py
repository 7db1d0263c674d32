"""The engine end to end: route, escalate, notify, acknowledge, ack timeout, chat, gaps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.alerts.conftest import am_alert, am_webhook, ingest_path
from tests.conftest import Account
from tests.escalation.conftest import Receiver, verified_webhook_method
from tests.garbage import cyclic_garbage, kinds
from watchkeeper.clock import FixedClock
from watchkeeper.db.engine import Database
from watchkeeper.escalation.engine import (
    BUSY_PASS_INTERVAL,
    BUSY_PASS_ITEMS,
    MAX_PASS_INTERVAL,
    MIN_PASS_INTERVAL,
    Engine,
    pass_interval,
)
from watchkeeper.notify import dispatch
from watchkeeper.notify.models import Delivery


def _setup(
    client: TestClient,
    admin: Account,
    make_account: Callable[..., Account],
    receiver: Receiver,
    engine: Engine,
    db: Database,
    clock: FixedClock,
    *,
    steps: list[dict[str, Any]],
    ack_timeout: int | None = None,
) -> tuple[dict[str, Any], Account, int]:
    team = client.post("/api/v1/teams", json={"name": "ops"}, headers=admin.headers).json()
    ada = make_account("editor", teams=(team["id"],), email="ada@example.com")
    method_id = verified_webhook_method(client, ada, receiver, engine, db, clock)
    resolved_steps = [
        {**s, "user_ids": [ada.id]} if s.get("type") == "notify_users" else s for s in steps
    ]
    chain = client.post(
        "/api/v1/escalation-chains",
        json={
            "name": "primary",
            "team_id": team["id"],
            "steps": resolved_steps,
            "ack_timeout_minutes": ack_timeout,
        },
        headers=admin.headers,
    )
    assert chain.status_code == 201, chain.text
    integration = client.post(
        "/api/v1/integrations",
        json={"name": "am", "kind": "alertmanager", "team_id": team["id"]},
        headers=admin.headers,
    ).json()
    route = client.post(
        f"/api/v1/integrations/{integration['id']}/routes",
        json={"matchers": 'severity="critical"', "escalation_chain_id": chain.json()["id"]},
        headers=admin.headers,
    )
    assert route.status_code == 201, route.text
    return integration, ada, method_id


@pytest.fixture
def paging(
    client: TestClient,
    admin: Account,
    make_account: Callable[..., Account],
    receiver: Receiver,
    engine: Engine,
    db: Database,
    clock: FixedClock,
) -> Callable[..., tuple[dict[str, Any], Account, int]]:
    """A team, a verified paging target, a chain with the given steps and a critical route."""

    def make(
        *, steps: list[dict[str, Any]], ack_timeout: int | None = None
    ) -> tuple[dict[str, Any], Account, int]:
        return _setup(
            client,
            admin,
            make_account,
            receiver,
            engine,
            db,
            clock,
            steps=steps,
            ack_timeout=ack_timeout,
        )

    return make


def _deliveries(db: Database, kind: str = "page") -> int:
    with db.read() as session:
        return int(
            session.scalar(
                select(func.count(Delivery.id)).where(
                    Delivery.kind == kind, Delivery.status == "sent"
                )
            )
            or 0
        )


def test_critical_pages_ack_stops_further_steps(
    client: TestClient,
    admin: Account,
    paging: Callable[..., tuple[dict[str, Any], Account, int]],
    receiver: Receiver,
    engine: Engine,
    db: Database,
    clock: FixedClock,
) -> None:
    integration, _ada, _ = paging(
        steps=[{"type": "notify_users"}, {"type": "wait", "minutes": 5}, {"type": "notify_users"}],
    )
    client.post(ingest_path(integration), json=am_webhook("k", [am_alert("DiskFull")]))
    engine.drain(clock.now())
    assert len(receiver.requests) == 1
    page = receiver.bodies()[0]
    assert page["message"]["title"] == "DiskFull is broken"
    assert page["message"]["ack_url"].startswith("http://127.0.0.1:8080/ack/")
    assert receiver.requests[0]["headers"]["X-Watchkeeper-Signature"].startswith("t=")
    # Acknowledge through the one-click link: no further steps run.
    token = page["message"]["ack_url"].rsplit("/", 1)[1]
    assert "Acknowledge" in client.get(f"/ack/{token}").text
    assert client.post(f"/ack/{token}").status_code == 200
    group = client.get("/api/v1/alert-groups", headers=admin.headers).json()["items"][0]
    assert group["status"] == "acknowledged"
    assert group["acknowledged_by"] == "ada@example.com"
    clock.advance(timedelta(minutes=10))
    engine.drain(clock.now())
    assert len(receiver.requests) == 1
    # Without acknowledging, the second step would have run after the wait.


def test_wait_then_second_step_and_idempotency(
    client: TestClient,
    admin: Account,
    paging: Callable[..., tuple[dict[str, Any], Account, int]],
    receiver: Receiver,
    engine: Engine,
    db: Database,
    clock: FixedClock,
) -> None:
    integration, _, _ = paging(
        steps=[{"type": "notify_users"}, {"type": "wait", "minutes": 5}, {"type": "notify_users"}],
    )
    client.post(ingest_path(integration), json=am_webhook("k", [am_alert("A")]))
    engine.drain(clock.now())
    clock.advance(timedelta(minutes=4))
    engine.drain(clock.now())
    assert len(receiver.requests) == 1
    clock.advance(timedelta(minutes=2))
    engine.drain(clock.now())
    engine.drain(clock.now())  # a second pass must not send anything twice
    assert len(receiver.requests) == 2
    keys = {r["headers"]["X-Watchkeeper-Delivery"] for r in receiver.requests}
    assert len(keys) == 2


def test_warning_is_not_paged(
    client: TestClient,
    admin: Account,
    paging: Callable[..., tuple[dict[str, Any], Account, int]],
    receiver: Receiver,
    engine: Engine,
    db: Database,
    clock: FixedClock,
) -> None:
    integration, _, _ = paging(steps=[{"type": "notify_users"}])
    client.post(
        ingest_path(integration), json=am_webhook("w", [am_alert("Slow", severity="warning")])
    )
    engine.drain(clock.now())
    assert receiver.requests == []


def test_ack_timeout_restarts_escalation(
    client: TestClient,
    admin: Account,
    paging: Callable[..., tuple[dict[str, Any], Account, int]],
    receiver: Receiver,
    engine: Engine,
    db: Database,
    clock: FixedClock,
) -> None:
    integration, _, _ = paging(
        steps=[{"type": "notify_users"}],
        ack_timeout=30,
    )
    client.post(ingest_path(integration), json=am_webhook("k", [am_alert("A")]))
    engine.drain(clock.now())
    group = client.get("/api/v1/alert-groups", headers=admin.headers).json()["items"][0]
    client.post(f"/api/v1/alert-groups/{group['id']}/acknowledge", headers=admin.headers)
    engine.drain(clock.now())
    clock.advance(timedelta(minutes=31))
    engine.drain(clock.now())
    assert len(receiver.requests) == 2
    group = client.get(f"/api/v1/alert-groups/{group['id']}", headers=admin.headers).json()
    assert group["status"] == "firing"
    assert "acknowledgement_expired" in [e["kind"] for e in group["timeline"]]


def test_resolve_ends_escalation(
    client: TestClient,
    admin: Account,
    paging: Callable[..., tuple[dict[str, Any], Account, int]],
    receiver: Receiver,
    engine: Engine,
    db: Database,
    clock: FixedClock,
) -> None:
    integration, _, _ = paging(
        steps=[{"type": "wait", "minutes": 5}, {"type": "notify_users"}],
    )
    client.post(ingest_path(integration), json=am_webhook("k", [am_alert("A")]))
    engine.drain(clock.now())
    group = client.get("/api/v1/alert-groups", headers=admin.headers).json()["items"][0]
    client.post(f"/api/v1/alert-groups/{group['id']}/resolve", headers=admin.headers)
    clock.advance(timedelta(minutes=6))
    engine.drain(clock.now())
    assert receiver.requests == []
    progress = client.get(f"/api/v1/alert-groups/{group['id']}/escalation", headers=admin.headers)
    assert progress.json()["escalation"]["status"] == "finished"


def test_nobody_on_call_is_recorded_loudly(
    client: TestClient,
    admin: Account,
    paging: Callable[..., tuple[dict[str, Any], Account, int]],
    receiver: Receiver,
    engine: Engine,
    db: Database,
    clock: FixedClock,
) -> None:
    schedule = client.post(
        "/api/v1/schedules", json={"name": "empty", "time_zone": "UTC"}, headers=admin.headers
    ).json()
    integration, _, _ = paging(
        steps=[{"type": "notify_on_call", "schedule_id": schedule["id"]}],
    )
    client.post(ingest_path(integration), json=am_webhook("k", [am_alert("A")]))
    engine.drain(clock.now())
    group = client.get("/api/v1/alert-groups", headers=admin.headers).json()["items"][0]
    detail = client.get(f"/api/v1/alert-groups/{group['id']}", headers=admin.headers).json()
    assert "nobody_to_notify" in [e["kind"] for e in detail["timeline"]]
    progress = client.get(f"/api/v1/alert-groups/{group['id']}/escalation", headers=admin.headers)
    assert progress.json()["escalation"]["nobody_notified"] == 1


def test_chain_validation_and_matcher_errors(
    client: TestClient, admin: Account, make_integration: Callable[..., dict[str, Any]]
) -> None:
    bad_user = client.post(
        "/api/v1/escalation-chains",
        json={"name": "x", "steps": [{"type": "notify_users", "user_ids": [999]}]},
        headers=admin.headers,
    )
    assert bad_user.status_code == 422
    assert "no user with id 999" in bad_user.json()["error"]["message"]
    bad_step = client.post(
        "/api/v1/escalation-chains",
        json={"name": "x", "steps": [{"type": "fly"}]},
        headers=admin.headers,
    )
    assert bad_step.status_code == 422
    integration = make_integration("alertmanager")
    bad_matcher = client.post(
        f"/api/v1/integrations/{integration['id']}/routes",
        json={"matchers": 'severity=~"("'},
        headers=admin.headers,
    )
    assert bad_matcher.status_code == 422
    assert "matchers" in bad_matcher.json()["error"]["message"]


def test_contact_method_with_bad_address_is_422(client: TestClient, admin: Account) -> None:
    response = client.post(
        f"/api/v1/users/{admin.id}/contact-methods",
        json={"type": "email", "settings": {"to": "not-an-address"}},
        headers=admin.headers,
    )
    assert response.status_code == 422
    metadata = client.post(
        f"/api/v1/users/{admin.id}/contact-methods",
        json={
            "type": "webhook",
            "settings": {"url": "http://169.254.169.254/x", "secret": "s" * 20},
        },
        headers=admin.headers,
    )
    assert metadata.status_code == 422


def test_provider_500_is_retried_then_next_step_runs(
    client: TestClient,
    admin: Account,
    paging: Callable[..., tuple[dict[str, Any], Account, int]],
    receiver: Receiver,
    engine: Engine,
    db: Database,
    clock: FixedClock,
) -> None:
    integration, _, _ = paging(
        steps=[{"type": "notify_users"}, {"type": "wait", "minutes": 1}, {"type": "notify_users"}],
    )
    receiver.status = 500
    client.post(ingest_path(integration), json=am_webhook("k", [am_alert("A")]))
    engine.drain(clock.now())
    with db.read() as session:
        statuses = session.scalars(select(Delivery.status).where(Delivery.kind == "page")).all()
    assert statuses == ["retrying"]
    receiver.status = 200
    clock.advance(timedelta(seconds=61))
    engine.drain(clock.now())
    with db.read() as session:
        statuses = sorted(session.scalars(select(Delivery.status).where(Delivery.kind == "page")))
    assert statuses == ["sent", "sent"]


def test_an_event_that_fails_is_skipped_and_the_others_are_paged(
    client: TestClient,
    paging: Callable[..., tuple[dict[str, Any], Account, int]],
    receiver: Receiver,
    engine: Engine,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from watchkeeper.escalation import consumer

    integration, _ada, _ = paging(steps=[{"type": "notify_users"}])
    real = consumer._route

    def route(session: Any, group: Any, **kwargs: Any) -> None:
        if group.title.startswith("Poison"):
            raise RuntimeError("a bug that only this group trips")
        real(session, group, **kwargs)

    monkeypatch.setattr(consumer, "_route", route)
    for name in ("Before", "Poison", "After"):
        sent = client.post(ingest_path(integration), json=am_webhook(name, [am_alert(name)]))
        assert sent.status_code == 202
    # The first pass fails as a whole and is rolled back; the next one goes
    # event by event, skips the poison and pages the other two.
    engine.drain(clock.now())
    titles = sorted(body["message"]["title"] for body in receiver.bodies())
    assert titles == ["After is broken", "Before is broken"]
    # The cursor moved past the poison: nothing is retried on later passes.
    monkeypatch.setattr(consumer, "_route", real)
    engine.drain(clock.now())
    assert len(receiver.requests) == 2


def test_an_idle_engine_knows_when_its_next_timer_is_due(
    client: TestClient,
    paging: Callable[..., tuple[dict[str, Any], Account, int]],
    engine: Engine,
    db: Database,
    clock: FixedClock,
) -> None:
    from watchkeeper.escalation.engine import _next_due

    integration, _ada, _ = paging(
        steps=[{"type": "wait", "minutes": 5}, {"type": "notify_users"}],
    )
    with db.read() as session:
        assert _next_due(session) is None
    client.post(ingest_path(integration), json=am_webhook("k", [am_alert("Slow")]))
    engine.drain(clock.now())
    with db.read() as session:
        assert _next_due(session) == clock.now() + timedelta(minutes=5)
    # The loop sleeps until then (not a whole poll) once a pass finds nothing.
    engine.run_once(clock.now(), timers=True)
    assert engine._next_due == clock.now() + timedelta(minutes=5)
    clock.advance(timedelta(minutes=5))
    engine.drain(clock.now())
    with db.read() as session:
        assert _next_due(session) is None


@pytest.mark.parametrize(("action", "status"), [("acknowledge", "paused"), ("resolve", "finished")])
def test_a_group_acted_on_before_the_engine_saw_it_escalates_no_further(
    client: TestClient,
    admin: Account,
    paging: Callable[..., tuple[dict[str, Any], Account, int]],
    receiver: Receiver,
    engine: Engine,
    clock: FixedClock,
    action: str,
    status: str,
) -> None:
    # One engine pass reads "created" and then the action: the escalation the
    # pass starts for the first event must be found by the second.
    integration, _, _ = paging(steps=[{"type": "wait", "minutes": 5}, {"type": "notify_users"}])
    client.post(ingest_path(integration), json=am_webhook("k", [am_alert("A")]))
    group = client.get("/api/v1/alert-groups", headers=admin.headers).json()["items"][0]
    client.post(f"/api/v1/alert-groups/{group['id']}/{action}", headers=admin.headers)
    assert engine.run_once(clock.now(), timers=False)
    progress = client.get(f"/api/v1/alert-groups/{group['id']}/escalation", headers=admin.headers)
    assert progress.json()["escalation"]["status"] == status
    clock.advance(timedelta(minutes=6))
    engine.drain(clock.now())
    assert receiver.requests == []


def test_a_pass_sends_the_pages_it_queued_and_a_wake_claims_the_others(
    client: TestClient,
    admin: Account,
    paging: Callable[..., tuple[dict[str, Any], Account, int]],
    receiver: Receiver,
    engine: Engine,
    db: Database,
    clock: FixedClock,
) -> None:
    integration, ada, method_id = paging(steps=[{"type": "notify_users"}])
    # No timer check: the pass that starts the escalation sends its first page.
    client.post(ingest_path(integration), json=am_webhook("k", [am_alert("A")]))
    assert engine.run_once(clock.now(), timers=False)
    assert len(receiver.requests) == 1
    assert engine.run_once(clock.now(), timers=False)  # stores the outcome
    # A delivery queued elsewhere (the API, another process) waits for a pass
    # that looks for deliveries: a timer check, or one a wake asked for.
    with db.write() as session:
        dispatch.queue_deliveries(
            session,
            [
                {
                    "idempotency_key": "elsewhere",
                    "user_id": ada.id,
                    "contact_method_id": method_id,
                    "channel": "webhook",
                    "kind": "test",
                    "message": {
                        "title": "from elsewhere",
                        "severity": "info",
                        "summary": "",
                        "group_url": "http://127.0.0.1:8080",
                        "idempotency_key": "elsewhere",
                        "kind": "test",
                    },
                }
            ],
            now=clock.now(),
        )
    client.post(ingest_path(integration), json=am_webhook("k2", [am_alert("B", severity="info")]))
    engine.run_once(clock.now(), timers=False)  # new outbox events only
    assert len(receiver.requests) == 1
    engine.wake()
    assert engine.run_once(clock.now(), timers=False)
    assert [b["message"]["title"] for b in receiver.bodies()][-1] == "from elsewhere"


def test_passes_space_out_under_a_stream_of_new_groups() -> None:
    # A pass that found a page or two: the next may start soon.
    assert pass_interval(1, 0.001) == MIN_PASS_INTERVAL
    # A stream of new groups: fewer, fuller passes share their fixed cost.
    assert pass_interval(BUSY_PASS_ITEMS, 0.001) == BUSY_PASS_INTERVAL
    assert BUSY_PASS_INTERVAL > MIN_PASS_INTERVAL
    # Long passes are at least their own length apart, but never too far.
    assert pass_interval(1, MIN_PASS_INTERVAL) == 2 * MIN_PASS_INTERVAL
    # The cap must not undercut the stream's interval, or raising that does nothing.
    assert pass_interval(1, 10.0) == MAX_PASS_INTERVAL >= BUSY_PASS_INTERVAL


def test_passes_that_page_leave_no_cycles(
    client: TestClient,
    paging: Callable[..., tuple[dict[str, Any], Any, int]],
    receiver: Receiver,
    engine: Engine,
    clock: FixedClock,
) -> None:
    integration, _, _ = paging(
        steps=[{"type": "notify_users"}, {"type": "wait", "minutes": 5}, {"type": "notify_users"}]
    )
    client.post(ingest_path(integration), json=am_webhook("warm", [am_alert("Warm")]))
    engine.drain(clock.now())  # first runs fill caches
    clock.advance(timedelta(minutes=6))
    engine.drain(clock.now())
    sent = len(receiver.requests)
    for n in range(pages := 10):
        client.post(ingest_path(integration), json=am_webhook(f"k{n}", [am_alert(f"A{n}")]))
    with cyclic_garbage() as garbage:
        engine.drain(clock.now())  # new groups: their first step pages
        clock.advance(timedelta(minutes=6))
        engine.drain(clock.now())  # the wait's timers: the second step pages
    assert len(receiver.requests) - sent == 2 * pages
    # Each page used to leave about 70 objects for the cyclic collector
    # (tests/alerts/test_cyclic_garbage.py says why that matters): httpx's
    # response and its stream pointing at each other (notify/netguard.py), and
    # SQLAlchemy's in_() built per pass (db.bulk.among).
    assert len(garbage) < pages, kinds(garbage).most_common(10)
