"""Web UI speed figures: run ``.venv/bin/python bench/ui.py [--postgres URL] [--groups N]``.

Fills a fresh database (a temporary SQLite file, and PostgreSQL when reachable:
``--postgres`` or WATCHKEEPER_TEST_POSTGRES_URL) with 10,000 alert groups (most
resolved, some acknowledged, some firing), a few integrations and schedules,
then times every page in-process with TestClient: the median of several
requests after a warm-up. Target: every page under 50 ms of server time.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from fastapi.testclient import TestClient
from sqlalchemy import make_url

from watchkeeper.alerts import integrations as integration_svc
from watchkeeper.alerts import store
from watchkeeper.alerts.normalized import NormalizedAlert
from watchkeeper.alerts.schemas import IntegrationCreate
from watchkeeper.alerts.store import Actor
from watchkeeper.app import create_app
from watchkeeper.clock import SystemClock
from watchkeeper.db import migrate
from watchkeeper.db.engine import Database
from watchkeeper.identity import service as identity
from watchkeeper.identity.principal import SYSTEM
from watchkeeper.identity.schemas import UserCreate
from watchkeeper.schedules import service as schedule_svc
from watchkeeper.schedules.schemas import LayerCreate, OverrideCreate, RotationIn, ScheduleCreate
from watchkeeper.settings import Settings

TARGET_MS = 50.0
BATCH = 500
PASSWORD = "bench password"
REPEATS = 15


def _alert(n: int, now: datetime) -> NormalizedAlert:
    service = f"svc-{n % 40}"
    return NormalizedAlert(
        fingerprint=f"fp-{n}",
        action="fire",
        group_key=f"group-{n}",
        title=f"High latency on {service} instance {n}",
        message="p99 latency above 500 ms for 10 minutes",
        severity=("critical", "warning", "info")[n % 3],
        labels={"alertname": "HighLatency", "service": service, "instance": f"host-{n}"},
        annotations={"summary": "latency"},
        starts_at=now,
        ends_at=None,
        source_url="https://grafana.example/d/abc",
        links=(),
    )


def fill(db: Database, groups: int) -> dict[str, int]:
    """The database a busy team has after a while; returns ids of a few objects."""
    now = datetime.now(UTC)
    with db.write() as session:
        team = identity.create_team(session, actor=SYSTEM, name="Platform", description="", now=now)
        users = []
        for n in range(8):
            user = identity.create_user(
                session,
                actor=SYSTEM,
                data=UserCreate(
                    email=f"person{n}@example.com",
                    name=f"Person {n}",
                    role="admin" if n == 0 else "editor",
                    password=PASSWORD if n == 0 else None,
                ),
                now=now,
            )
            identity.add_member(session, actor=SYSTEM, team_id=team.id, user_id=user.id, now=now)
            users.append(user.id)
        integrations = [
            integration_svc.create_integration(
                session,
                actor=SYSTEM,
                data=IntegrationCreate(name=f"Integration {k}", kind=k, team_id=team.id),  # type: ignore[arg-type]
                now=now,
            )
            for k in ("alertmanager", "grafana", "pagerduty", "webhook")
        ]
        schedules = []
        for n in range(4):
            schedule = schedule_svc.create_schedule(
                session,
                actor=SYSTEM,
                data=ScheduleCreate(
                    name=f"Schedule {n}", time_zone="Europe/Berlin", team_id=team.id
                ),
                now=now,
            )
            rotations = [
                RotationIn(user_ids=users[:4], start=now - timedelta(days=20), shift_unit="days"),
                RotationIn(user_ids=users[4:], start=now - timedelta(days=3), shift_unit="weeks"),
            ]
            for index, rotation in enumerate(rotations):
                schedule_svc.add_layer(
                    session,
                    actor=SYSTEM,
                    schedule_id=schedule.id,
                    data=LayerCreate(name=f"Layer {index}", rotations=[rotation]),
                    now=now,
                )
            schedule_svc.add_override(
                session,
                actor=SYSTEM,
                schedule_id=schedule.id,
                data=OverrideCreate(
                    start=now + timedelta(days=2), end=now + timedelta(days=2, hours=6), user_ids=[]
                ),
                now=now,
            )
            schedules.append(schedule.id)
    ids: list[int] = []
    for start in range(0, groups, BATCH):
        with db.write() as session:
            integration = integration_svc.get_integration(
                session, integration_id=integrations[(start // BATCH) % len(integrations)].id
            )
            alerts = [_alert(n, now) for n in range(start, min(start + BATCH, groups))]
            result = store.ingest(
                session, integration=integration, alerts=alerts, raw_body="{}", now=now
            )
            created = sorted(result.created_group_ids)
            ids += created
            # 80% resolved, 10% acknowledged, 10% still firing.
            actor = Actor("system", "bench")
            store.resolve_groups(
                session, group_ids=created[: len(created) * 8 // 10], actor=actor, now=now
            )
            store.acknowledge_groups(
                session,
                group_ids=created[len(created) * 8 // 10 : len(created) * 9 // 10],
                actor=actor,
                now=now,
            )
    return {"group": ids[-1], "integration": integrations[0].id, "schedule": schedules[0]}


def measure(db_url: str, groups: int) -> list[tuple[str, float]]:
    db = Database(db_url)
    ids = fill(db, groups)
    settings = Settings(data_dir=Path(tempfile.mkdtemp()), database_url=db_url, secret_key="bench")
    app = create_app(settings, db=db, clock=SystemClock(), background=False)
    pages = [
        "/",
        "/fragments/now",
        "/alert-groups",
        "/alert-groups?status=firing",
        "/alert-groups?status=resolved&since=24h",
        "/alert-groups?label=service%3Dsvc-7",
        f"/alert-groups/{ids['group']}",
        "/integrations",
        f"/integrations/{ids['integration']}",
        "/schedules",
        f"/schedules/{ids['schedule']}",
        f"/schedules/{ids['schedule']}?view=month",
        f"/schedules/{ids['schedule']}/health",
        "/profile",
        "/admin/teams",
        "/admin/users",
    ]
    results = []
    with TestClient(app) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        assert token
        client.post(
            "/login",
            data={"email": "person0@example.com", "password": PASSWORD, "csrf_token": token[1]},
        )
        first = client.get("/alert-groups")
        older = re.search(r'href="(/alert-groups\?[^"]*cursor=[^"]+)"', first.text)
        if older:
            pages.append(older[1].replace("&amp;", "&"))
        for url in pages:
            client.get(url)  # warm-up: caches, prepared statements
            times = []
            for _ in range(REPEATS):
                start = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200, (url, response.status_code)
            results.append((url, statistics.median(times)))
    db.dispose()
    return results


def report(name: str, results: list[tuple[str, float]]) -> None:
    print(f"\n{name}: median server time per page (target < {TARGET_MS:.0f} ms)")
    for url, ms in sorted(results, key=lambda r: -r[1]):
        flag = "" if ms < TARGET_MS else "  <-- over target"
        print(f"  {ms:7.1f} ms  {url}{flag}")


def postgres_url(base: str) -> tuple[str, str] | None:
    admin = make_url(base).set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"wk_bench_ui_{secrets.token_hex(3)}"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL skipped: {exc}")
        return None
    return make_url(base).set(database=name).render_as_string(hide_password=False), admin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=10_000)
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "WATCHKEEPER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        migrate.upgrade(url)
        report(f"SQLite, {args.groups:,} alert groups", measure(url, args.groups))
    found = postgres_url(args.postgres)
    if found:
        url, admin = found
        try:
            migrate.upgrade(url)
            report(f"PostgreSQL, {args.groups:,} alert groups", measure(url, args.groups))
        finally:
            name = make_url(url).database
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
