"""Feed SLO burn alerts into Watchkeeper's own alert pipeline.

Each team that owns natively evaluated SLOs gets one internal integration of
kind `prometheus`, named "SLO burn alerts", created the first time one of its
SLOs has something to send. Its alerts are grouped per SLO and route (page,
ticket, no data), so the team routes them like any Prometheus alert:
`watchkeeper_route="page"` to the escalation chain, `"ticket"` to chat.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy.orm import Session

from watchkeeper.alerts import integrations, store
from watchkeeper.alerts.models import Integration
from watchkeeper.alerts.normalized import NormalizedAlert
from watchkeeper.alerts.schemas import IntegrationCreate
from watchkeeper.identity.models import Team
from watchkeeper.identity.principal import SYSTEM
from watchkeeper.slo.burn_alerts import resolve_alert
from watchkeeper.slo.models import Slo, SloAlertIntegration

INTEGRATION_NAME = "SLO burn alerts"


def team_integration(session: Session, *, team: Team, now: datetime) -> Integration:
    """The team's SLO alert integration, created on first use."""
    link = session.get(SloAlertIntegration, team.id)
    if link is not None:
        integration = session.get(Integration, link.integration_id)
        if integration is not None:
            return integration
    integration = integrations.create_integration(
        session,
        actor=SYSTEM,
        data=IntegrationCreate(name=INTEGRATION_NAME, kind="prometheus", team_id=team.id),
        now=now,
    )
    if link is None:
        session.add(SloAlertIntegration(team_id=team.id, integration_id=integration.id))
    else:
        link.integration_id = integration.id
    session.flush()
    return integration


def send(
    session: Session, *, slo: Slo, alerts: list[NormalizedAlert], now: datetime
) -> store.IngestResult | None:
    """Store the alerts through the team's integration, like any sender's payload."""
    if not alerts:
        return None
    integration = team_integration(session, team=slo.team, now=now)
    raw = json.dumps(
        {
            "source": "watchkeeper-slo",
            "slo_id": slo.id,
            "service": slo.service,
            "slo": slo.name,
            "alerts": [{"fingerprint": a.fingerprint, "action": a.action} for a in alerts],
        }
    )
    return store.ingest(session, integration=integration, alerts=alerts, raw_body=raw, now=now)


def close_alerts(session: Session, *, slo: Slo, now: datetime) -> None:
    """Resolve every alert the SLO has open (it is deleted, moved or no longer evaluated)."""
    status = slo.status
    if status is None or not status.open_alerts:
        return
    send(
        session,
        slo=slo,
        alerts=[resolve_alert(slo.id, kind, now) for kind in status.open_alerts],
        now=now,
    )
    status.open_alerts = []
