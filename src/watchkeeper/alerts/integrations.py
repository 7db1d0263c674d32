"""Integrations: where alerts come in, with their token, templates and options."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from watchkeeper.alerts import store
from watchkeeper.alerts.adapters import parse_payload
from watchkeeper.alerts.models import Alert, AlertGroup, Integration, RawPayload
from watchkeeper.alerts.normalized import IntegrationTemplates, NormalizedAlert
from watchkeeper.alerts.schemas import IntegrationCreate, IntegrationUpdate
from watchkeeper.alerts.templating import template_error
from watchkeeper.errors import Invalid, NotFound
from watchkeeper.identity import audit
from watchkeeper.identity.models import Team
from watchkeeper.identity.principal import Principal

MAX_TEMPLATE_ERRORS = 20


def new_token() -> str:
    return secrets.token_urlsafe(24)


def ingest_url(base_url: str, integration: Integration) -> str:
    return f"{base_url}/ingest/{integration.token}"


def templates_of(integration: Integration) -> IntegrationTemplates:
    known = IntegrationTemplates.__dataclass_fields__
    return IntegrationTemplates(
        **{k: v for k, v in (integration.templates or {}).items() if k in known and v}
    )


def _check_templates(templates: dict[str, Any]) -> None:
    problems = []
    for name, source in templates.items():
        if source:
            error = template_error(source)
            if error:
                problems.append(f"templates.{name}: {error}")
    if problems:
        raise Invalid("; ".join(problems))


def _check_team(session: Session, team_id: int | None) -> None:
    if team_id is not None and session.get(Team, team_id) is None:
        raise Invalid(f"team_id: team {team_id} does not exist")


def get_integration(session: Session, *, integration_id: int) -> Integration:
    integration = session.get(Integration, integration_id)
    if integration is None:
        raise NotFound(f"integration {integration_id} does not exist")
    return integration


def find_by_token(session: Session, *, token: str) -> Integration | None:
    return session.scalar(select(Integration).where(Integration.token == token))


def list_integrations(session: Session, *, team_id: int | None = None) -> Sequence[Integration]:
    query = select(Integration).order_by(Integration.id)
    if team_id is not None:
        query = query.where(Integration.team_id == team_id)
    return session.scalars(query).all()


def create_integration(
    session: Session, *, actor: Principal, data: IntegrationCreate, now: datetime
) -> Integration:
    _check_team(session, data.team_id)
    templates = data.templates.model_dump(exclude_none=True)
    _check_templates(templates)
    if data.kind == "heartbeat" and data.heartbeat_interval_seconds is None:
        data.heartbeat_interval_seconds = 300
    integration = Integration(
        name=data.name,
        kind=data.kind,
        team_id=data.team_id,
        token=new_token(),
        templates=templates,
        options=data.options.model_dump(exclude_none=True),
        maintenance=data.maintenance,
        rate_limit_per_minute=data.rate_limit_per_minute,
        template_errors=[],
        heartbeat_interval_seconds=data.heartbeat_interval_seconds,
        heartbeat_expired=False,
        created_at=now,
    )
    session.add(integration)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="integration.create",
        object_type="integration",
        object_id=integration.id,
        at=now,
        details={"name": data.name, "kind": data.kind},
    )
    return integration


def update_integration(
    session: Session,
    *,
    actor: Principal,
    integration_id: int,
    data: IntegrationUpdate,
    now: datetime,
) -> Integration:
    integration = get_integration(session, integration_id=integration_id)
    changes = data.model_dump(exclude_unset=True)
    if "team_id" in changes:
        _check_team(session, data.team_id)
        integration.team_id = data.team_id
    if data.name is not None:
        integration.name = data.name
    if data.templates is not None:
        templates = data.templates.model_dump(exclude_none=True)
        _check_templates(templates)
        integration.templates = templates
    if data.options is not None:
        integration.options = data.options.model_dump(exclude_none=True)
    if data.maintenance is not None:
        integration.maintenance = data.maintenance
    if "rate_limit_per_minute" in changes:
        integration.rate_limit_per_minute = data.rate_limit_per_minute
    if data.heartbeat_interval_seconds is not None:
        integration.heartbeat_interval_seconds = data.heartbeat_interval_seconds
    audit.record(
        session,
        actor=actor,
        action="integration.update",
        object_type="integration",
        object_id=integration.id,
        at=now,
        details={"fields": sorted(changes)},
    )
    return integration


def delete_integration(
    session: Session, *, actor: Principal, integration_id: int, now: datetime
) -> None:
    integration = get_integration(session, integration_id=integration_id)
    # Its groups go with it, and the alerts in them, those merged in from other
    # integrations too. Alerts, groups and payloads have no foreign key to it
    # (see Alert, AlertGroup, RawPayload), so they are deleted here: this
    # integration's own alerts wherever they were merged, whatever its groups
    # hold, its groups (their timelines and escalations follow by cascade) and
    # its payloads.
    groups = select(AlertGroup.id).where(AlertGroup.integration_id == integration_id)
    session.execute(
        delete(Alert).where(or_(Alert.integration_id == integration_id, Alert.group_id.in_(groups)))
    )
    session.execute(delete(AlertGroup).where(AlertGroup.integration_id == integration_id))
    session.execute(delete(RawPayload).where(RawPayload.integration_id == integration_id))
    session.delete(integration)
    audit.record(
        session,
        actor=actor,
        action="integration.delete",
        object_type="integration",
        object_id=integration_id,
        at=now,
        details={"name": integration.name},
    )


def record_template_errors(
    session: Session, *, integration: Integration, errors: Sequence[str], now: datetime
) -> None:
    """Keep the latest template errors on the integration, newest first."""
    entries = [{"at": now.isoformat(), "error": e} for e in errors[:MAX_TEMPLATE_ERRORS]]
    integration.template_errors = (entries + list(integration.template_errors or []))[
        :MAX_TEMPLATE_ERRORS
    ]


def send_test_alert(
    session: Session, *, integration: Integration, actor: Principal, now: datetime
) -> store.IngestResult:
    """Push a synthetic firing alert through the same store path as real payloads."""
    alert = NormalizedAlert(
        fingerprint=f"watchkeeper-test-{now.timestamp():.0f}",
        action="fire",
        group_key=f"watchkeeper-test-{now.timestamp():.0f}",
        title=f"Test alert from {integration.name}",
        message=f"Sent by {actor.name} to check that alerts from this integration arrive.",
        severity="warning",
        labels={"alertname": "WatchkeeperTest", "severity": "warning"},
        annotations={"summary": "This is a test alert; resolve it when you have seen it."},
        starts_at=now,
        ends_at=None,
        source_url=None,
        links=(),
    )
    return store.ingest(
        session,
        integration=integration,
        alerts=[alert],
        raw_body='{"watchkeeper_test_alert": true}',
        now=now,
    )


def heartbeat_alert(integration: Integration, *, action: str, now: datetime) -> NormalizedAlert:
    result = parse_payload(
        "heartbeat",
        None,
        templates=IntegrationTemplates(),
        now=now,
        options={
            "action": action,
            "name": integration.name,
            "last_ping_at": integration.last_heartbeat_at,
            "timeout_seconds": integration.heartbeat_interval_seconds,
        },
    )
    return result.alerts[0]
