"""The engine reads groups as plain rows: the same values the ORM gives, on both databases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.alerts.conftest import am_alert, am_webhook, ingest_path
from tests.conftest import Account
from watchkeeper.alerts import store
from watchkeeper.alerts.models import GROUP_ROW_FIELDS, AlertGroup, GroupRow
from watchkeeper.db.engine import Database


def test_group_rows_carry_every_column_as_the_orm_reads_it(
    client: TestClient,
    admin: Account,
    db: Database,
    make_integration: Callable[..., dict[str, Any]],
) -> None:
    assert tuple(c.name for c in AlertGroup.__table__.c) == GROUP_ROW_FIELDS
    integration = make_integration("alertmanager")
    alert = am_alert("DiskFull", instance="db-1", service="pg")
    alert["generatorURL"] = "http://prometheus.example/graph"
    client.post(ingest_path(integration), json=am_webhook("k1", [alert]))
    client.post(ingest_path(integration), json=am_webhook("k2", [am_alert("Other")]))
    with db.read() as session:
        ids = list(session.scalars(select(AlertGroup.id).order_by(AlertGroup.id)))
    client.post(f"/api/v1/alert-groups/{ids[0]}/acknowledge", headers=admin.headers)
    with db.read() as session:
        rows = store.group_rows(session, [*ids, 10**9])
        assert sorted(rows) == ids
        for group_id in ids:
            group = session.get(AlertGroup, group_id)
            assert group is not None
            assert rows[group_id] == GroupRow.of(group)
        assert store.group_rows(session, []) == {}
    acknowledged = rows[ids[0]]
    assert acknowledged.status == "acknowledged"
    assert acknowledged.acknowledged_at is not None
    assert acknowledged.acknowledged_at.tzinfo is not None
    assert acknowledged.labels["instance"] == "db-1"
