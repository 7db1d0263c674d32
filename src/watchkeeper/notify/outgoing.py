"""Outgoing webhooks for automation: group events posted as signed, templated JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper.alerts.models import GroupRow
from watchkeeper.alerts.templating import TemplateFailure, render
from watchkeeper.notify import dispatch
from watchkeeper.notify.models import OutgoingWebhook
from watchkeeper.notify.netguard import AllowList, safe_client
from watchkeeper.notify.senders.base import Outcome, exception_outcome, http_outcome
from watchkeeper.notify.signature import SIGNATURE_HEADER, signature_header

EVENTS = ("created", "acknowledged", "unacknowledged", "resolved", "silenced", "escalation_step")
TRUTHY = frozenset({"true", "1", "yes"})


def group_context(group: GroupRow, event: str) -> dict[str, Any]:
    return {
        "event": event,
        "group": {
            "id": group.id,
            "status": group.status,
            "title": group.title,
            "message": group.message,
            "severity": group.severity,
            "labels": dict(group.labels or {}),
            "integration_id": group.integration_id,
            "team_id": group.team_id,
            "alerts_count": group.alerts_count,
            "created_at": group.created_at.isoformat(),
            "acknowledged_by": group.acknowledged_by,
            "resolved_by": group.resolved_by,
        },
    }


def queue_webhook(
    session: Session, *, webhook_id: int, group: GroupRow, event: str, cause: str, now: datetime
) -> bool:
    """Queue one webhook call for a group event, unless its condition says no."""
    hook = session.get(OutgoingWebhook, webhook_id)
    if hook is None or not hook.enabled:
        return False
    context = group_context(group, event)
    if hook.condition_template:
        try:
            verdict = render(hook.condition_template, context).strip().lower()
        except TemplateFailure:
            verdict = "false"
        if verdict not in TRUTHY:
            return False
    key = f"g{group.id}:{cause}:wh{hook.id}:{event}"
    queued = dispatch.queue_deliveries(
        session,
        [
            {
                "idempotency_key": key,
                "group_id": group.id,
                "webhook_id": hook.id,
                "channel": "outgoing_webhook",
                "kind": "webhook",
                "message": {**context, "idempotency_key": key},
            }
        ],
        now=now,
    )
    return queued > 0


# (id, team id, triggers) of each enabled webhook.
Hooks = list[tuple[int, int | None, tuple[str, ...]]]


def enabled_hooks(session: Session) -> Hooks:
    """(id, team id, triggers) of every enabled webhook; read once per engine pass."""
    rows = session.execute(
        select(OutgoingWebhook.id, OutgoingWebhook.team_id, OutgoingWebhook.triggers).where(
            OutgoingWebhook.enabled.is_(True)
        )
    ).all()
    return [(int(i), t, tuple(trig or ())) for i, t, trig in rows]


def queue_for_event(
    session: Session,
    *,
    group: GroupRow,
    event: str,
    now: datetime,
    serial: int,
    hooks: Hooks | None = None,
) -> int:
    """Queue every enabled webhook subscribed to ``event`` for the group's team (or global)."""
    if hooks is None:
        hooks = enabled_hooks(session)
    count = 0
    for hook_id, team_id, triggers in hooks:
        if event in triggers and (team_id is None or team_id == group.team_id):
            count += queue_webhook(
                session, webhook_id=hook_id, group=group, event=event, cause=f"ev{serial}", now=now
            )
    return count


def send_webhook(
    hook: Mapping[str, Any],
    context: Mapping[str, Any],
    *,
    allow: AllowList,
    now: datetime,
    timeout: float = 10.0,
) -> Outcome:
    """POST the rendered body, signed with the hook's secret when it has one."""
    try:
        if hook.get("body_template"):
            body = render(str(hook["body_template"]), context).encode()
        else:
            body = json.dumps(context, ensure_ascii=False, default=str).encode()
        headers = {"Content-Type": "application/json", **dict(hook.get("headers") or {})}
        headers["X-Watchkeeper-Event"] = str(context.get("event", ""))
        headers["X-Watchkeeper-Delivery"] = str(context.get("idempotency_key", ""))
        if hook.get("secret"):
            headers[SIGNATURE_HEADER] = signature_header(
                body, str(hook["secret"]), int(now.timestamp())
            )
        with safe_client(allow, timeout) as client:
            response: httpx.Response = client.post(str(hook["url"]), content=body, headers=headers)
        return http_outcome(response)
    except Exception as exc:
        return exception_outcome(exc, [hook.get("secret")])
