"""Integrations: list, create, and a detail page with everything a sender needs."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from watchkeeper.alerts import integrations as svc
from watchkeeper.alerts.adapters import KINDS, parse_payload
from watchkeeper.alerts.ingest import gate_of
from watchkeeper.alerts.normalized import IntegrationTemplates, PayloadError
from watchkeeper.alerts.schemas import IntegrationCreate, IntegrationUpdate, Templates
from watchkeeper.api.deps import get_context
from watchkeeper.ui import queries, sender_configs
from watchkeeper.ui.csrf import check_csrf
from watchkeeper.ui.web import (
    CsrfField,
    Me,
    Reader,
    ReadSession,
    UiRoute,
    editing,
    flash,
    now_of,
    redirect,
    render,
)

router = APIRouter(route_class=UiRoute)
TEMPLATE_FIELDS = tuple(Templates.model_fields)
KIND_HELP = {
    "alertmanager": "Prometheus Alertmanager (webhook_configs)",
    "prometheus": "Prometheus sending straight to Watchkeeper (no Alertmanager)",
    "grafana": "Grafana alerting contact point",
    "pagerduty": "Any PagerDuty Events API v2 client",
    "webhook": "Any JSON over HTTP, shaped by templates",
    "heartbeat": "Alerts when regular pings stop",
}
TEST_BODY = '{"watchkeeper_test_alert": true}'  # what send_test_alert stores as raw payload
Text = Annotated[str, Form()]
OptionalText = Annotated[str | None, Form()]


def editable_teams(me: Me, teams: dict[int, str]) -> dict[int, str]:
    return {tid: name for tid, name in teams.items() if me.can_edit(tid)}


@router.get("/integrations")
def list_integrations(request: Request, session: ReadSession, me: Reader) -> Response:
    teams = queries.team_names(session)
    return render(
        request,
        "integrations/list.html",
        me,
        integrations=svc.list_integrations(session),
        teams=teams,
        my_teams=editable_teams(me, teams),
        kinds={k: KIND_HELP.get(k, k) for k in KINDS},
    )


@router.post("/integrations")
def create_integration(
    request: Request, name: Text, kind: Text, team: OptionalText = None, csrf: CsrfField = None
) -> Response:
    team_id = int(team) if team else None
    with editing(request, csrf) as (session, me):
        me.principal.require_team_editor(team_id)
        data = IntegrationCreate.model_validate(
            {"name": name.strip(), "kind": kind, "team_id": team_id}
        )
        integration = svc.create_integration(
            session, actor=me.principal, data=data, now=now_of(request)
        )
    flash(request, f"Created {integration.name}. Point your sender at the address below.")
    return redirect(f"/integrations/{integration.id}")


@router.get("/integrations/{integration_id}")
def integration_detail(
    request: Request, integration_id: int, session: ReadSession, me: Reader
) -> Response:
    integration = svc.get_integration(session, integration_id=integration_id)
    base_url = get_context(request).settings.base_url
    url = svc.ingest_url(base_url, integration)
    payloads = queries.recent_payloads(session, integration_id=integration_id)
    return render(
        request,
        "integrations/detail.html",
        me,
        i=integration,
        ingest_url=url,
        team=queries.team_names(session).get(integration.team_id or 0),
        snippets=sender_configs.snippets(
            integration.kind, ingest_url=url, base_url=base_url, token=integration.token
        ),
        payloads=payloads,
        template_fields=TEMPLATE_FIELDS,
        can_edit=me.can_edit(integration.team_id),
    )


@router.post("/integrations/{integration_id}/test")
def send_test_alert(request: Request, integration_id: int, csrf: CsrfField = None) -> Response:
    with editing(request, csrf) as (session, me):
        integration = svc.get_integration(session, integration_id=integration_id)
        me.principal.require_team_editor(integration.team_id)
        result = svc.send_test_alert(
            session, integration=integration, actor=me.principal, now=now_of(request)
        )
    ids = sorted(result.touched_group_ids)
    flash(request, "Test alert sent. It is on the Now page and in Alert groups.")
    return redirect(f"/alert-groups/{ids[0]}" if ids else f"/integrations/{integration_id}")


@router.post("/integrations/{integration_id}/maintenance")
def set_maintenance(
    request: Request, integration_id: int, on: Text, csrf: CsrfField = None
) -> Response:
    with editing(request, csrf) as (session, me):
        integration = svc.get_integration(session, integration_id=integration_id)
        me.principal.require_team_editor(integration.team_id)
        svc.update_integration(
            session,
            actor=me.principal,
            integration_id=integration_id,
            data=IntegrationUpdate(maintenance=on == "1"),
            now=now_of(request),
        )
        gate_of(request).forget(integration.token)
    flash(
        request,
        "Maintenance on: alerts are stored but nobody is paged."
        if on == "1"
        else "Maintenance off: alerts page people again.",
    )
    return redirect(f"/integrations/{integration_id}")


async def _template_form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {name: str(form.get(name) or "").strip() for name in TEMPLATE_FIELDS}


@router.post("/integrations/{integration_id}/templates")
async def save_templates(request: Request, integration_id: int, csrf: CsrfField = None) -> Response:
    fields = await _template_form(request)
    templates = Templates.model_validate({k: v or None for k, v in fields.items()})
    with editing(request, csrf) as (session, me):
        integration = svc.get_integration(session, integration_id=integration_id)
        me.principal.require_team_editor(integration.team_id)
        svc.update_integration(
            session,
            actor=me.principal,
            integration_id=integration_id,
            data=IntegrationUpdate(templates=templates),
            now=now_of(request),
        )
        gate_of(request).forget(integration.token)
    flash(request, "Templates saved; the next alerts use them.")
    return redirect(f"/integrations/{integration_id}")


@router.post("/integrations/{integration_id}/preview")
async def preview_templates(
    request: Request, integration_id: int, session: ReadSession, me: Reader, csrf: CsrfField = None
) -> Response:
    """Render the templates in the form against a recent payload, without saving."""
    check_csrf(request, csrf)
    fields = await _template_form(request)
    form = await request.form()
    integration = svc.get_integration(session, integration_id=integration_id)
    payloads = queries.recent_payloads(session, integration_id=integration_id)
    chosen = next((p for p in payloads if str(p.id) == form.get("payload_id")), None)
    real = [p for p in payloads if p.body != TEST_BODY] or payloads
    chosen = chosen or (real[0] if real else None)
    context: dict[str, object] = {"payload": chosen, "alerts": [], "errors": [], "problem": None}
    if chosen is None:
        context["problem"] = "No payload has arrived yet; send a test alert or a real one first."
    else:
        try:
            result = parse_payload(
                integration.kind,
                json.loads(chosen.body),
                templates=IntegrationTemplates(**{k: v for k, v in fields.items() if v}),
                now=now_of(request),
                options=integration.options,
            )
            context["alerts"], context["errors"] = result.alerts[:20], result.template_errors
        except (PayloadError, ValueError) as exc:
            context["problem"] = f"This payload cannot be parsed as {integration.kind}: {exc}"
    return render(request, "integrations/_preview.html", me, 200, **context)
