"""REST API: contact methods, rules, chat destinations, outgoing webhooks, ack links."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy import delete, select

from watchkeeper.alerts import groups as group_svc
from watchkeeper.alerts.store import Actor
from watchkeeper.api.context import AppContext
from watchkeeper.api.deps import ContextDep, CurrentPrincipal, NowDep, SessionDep, get_context
from watchkeeper.errors import Conflict, Invalid, NotFound
from watchkeeper.identity import audit
from watchkeeper.identity.models import User
from watchkeeper.identity.principal import Principal
from watchkeeper.notify import dispatch
from watchkeeper.notify.models import (
    ChatDestination,
    ContactMethod,
    NotificationRule,
    OutgoingWebhook,
)
from watchkeeper.notify.outgoing import EVENTS

router = APIRouter(prefix="/api/v1", tags=["notifications"])
ack_router = APIRouter(tags=["notifications"])

MethodType = Literal[
    "email", "slack", "teams", "telegram", "ntfy", "webhook", "sms", "voice", "apprise"
]
ChatType = Literal["slack", "teams", "telegram", "webhook", "ntfy", "apprise"]


def _engine(ctx: AppContext) -> Any:
    engine = ctx.services.get("engine")
    if engine is None:
        raise Invalid("notifications are not enabled on this server")
    return engine


def _check_user(principal: Principal, user_id: int) -> None:
    if principal.id != user_id:
        principal.require("admin")


def _validated(ctx: AppContext, type_: str, settings: dict[str, str]) -> dict[str, str]:
    notifier = _engine(ctx).notifier
    merged = {**notifier.defaults.get(type_, {}), **settings}
    notifier.senders[type_].validate_target(merged)  # raises InvalidTarget (422)
    return settings


class ContactMethodIn(BaseModel):
    type: MethodType
    name: str = Field(default="", max_length=200)
    settings: dict[str, str] = Field(
        description='e.g. {"to": "ada@example.com"} for email, {"url": ...} for webhook; '
        "never returned by the API"
    )


class ContactMethodOut(BaseModel):
    id: int
    user_id: int
    type: str
    name: str
    verified: bool
    created_at: datetime


def _method_out(m: ContactMethod) -> ContactMethodOut:
    return ContactMethodOut(
        id=m.id,
        user_id=m.user_id,
        type=m.type,
        name=m.name,
        verified=m.verified,
        created_at=m.created_at,
    )


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _queue_direct(
    session: SessionDep,
    method: ContactMethod,
    *,
    kind: str,
    title: str,
    summary: str,
    base_url: str,
    now: datetime,
) -> None:
    key = f"cm{method.id}:{kind}:{secrets.token_hex(6)}"
    dispatch.queue_deliveries(
        session,
        [
            {
                "idempotency_key": key,
                "user_id": method.user_id,
                "contact_method_id": method.id,
                "channel": method.type,
                "kind": kind,
                "message": {
                    "title": title,
                    "severity": "info",
                    "summary": summary,
                    "group_url": base_url,
                    "idempotency_key": key,
                    "kind": kind,
                },
            }
        ],
        now=now,
    )


@router.get("/users/{user_id}/contact-methods")
def list_contact_methods(
    user_id: int, session: SessionDep, principal: CurrentPrincipal
) -> dict[str, list[ContactMethodOut]]:
    rows = session.scalars(
        select(ContactMethod).where(ContactMethod.user_id == user_id).order_by(ContactMethod.id)
    ).all()
    return {"items": [_method_out(m) for m in rows]}


@router.post(
    "/users/{user_id}/contact-methods",
    response_model=ContactMethodOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add a contact method; a verification code is sent to it",
)
def create_contact_method(
    user_id: int,
    body: ContactMethodIn,
    ctx: ContextDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> ContactMethodOut:
    _check_user(principal, user_id)
    if session.get(User, user_id) is None:
        raise NotFound(f"user {user_id} does not exist")
    settings = _validated(ctx, body.type, body.settings)
    code = f"{secrets.randbelow(10**6):06d}"
    method = ContactMethod(
        user_id=user_id,
        type=body.type,
        name=body.name or body.type,
        settings_encrypted=_engine(ctx).notifier.seal(settings),
        verified=False,
        verification_code_hash=_hash(code),
        created_at=now,
    )
    session.add(method)
    session.flush()
    _queue_direct(
        session,
        method,
        kind="verification",
        title=f"Watchkeeper verification code {code}",
        summary=f"Enter {code} in Watchkeeper to confirm this contact method.",
        base_url=ctx.settings.base_url,
        now=now,
    )
    audit.record(
        session,
        actor=principal,
        action="contact_method.create",
        object_type="contact_method",
        object_id=method.id,
        at=now,
        details={"type": body.type},
    )
    _engine(ctx).wake()
    return _method_out(method)


class VerifyBody(BaseModel):
    code: str = Field(min_length=6, max_length=6)


@router.post("/users/{user_id}/contact-methods/{method_id}/verify", response_model=ContactMethodOut)
def verify_contact_method(
    user_id: int,
    method_id: int,
    body: VerifyBody,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> ContactMethodOut:
    _check_user(principal, user_id)
    method = _method(session, user_id, method_id)
    if method.verified:
        return _method_out(method)
    if not method.verification_code_hash or not hmac.compare_digest(
        method.verification_code_hash, _hash(body.code)
    ):
        raise Invalid("code: that is not the code we sent; check the latest message")
    method.verified = True
    method.verification_code_hash = None
    audit.record(
        session,
        actor=principal,
        action="contact_method.verify",
        object_type="contact_method",
        object_id=method.id,
        at=now,
    )
    return _method_out(method)


@router.post(
    "/users/{user_id}/contact-methods/{method_id}/test",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send me a test notification",
)
def test_contact_method(
    user_id: int,
    method_id: int,
    ctx: ContextDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> dict[str, str]:
    _check_user(principal, user_id)
    method = _method(session, user_id, method_id)
    _queue_direct(
        session,
        method,
        kind="test",
        title="Watchkeeper test notification",
        summary="If you can read this, Watchkeeper can reach you here.",
        base_url=ctx.settings.base_url,
        now=now,
    )
    _engine(ctx).wake()
    return {"status": "queued"}


@router.delete("/users/{user_id}/contact-methods/{method_id}", status_code=204)
def delete_contact_method(
    user_id: int, method_id: int, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> None:
    _check_user(principal, user_id)
    session.delete(_method(session, user_id, method_id))
    audit.record(
        session,
        actor=principal,
        action="contact_method.delete",
        object_type="contact_method",
        object_id=method_id,
        at=now,
    )


def _method(session: SessionDep, user_id: int, method_id: int) -> ContactMethod:
    method = session.get(ContactMethod, method_id)
    if method is None or method.user_id != user_id:
        raise NotFound(f"contact method {method_id} of user {user_id} does not exist")
    return method


class RuleStep(BaseModel):
    kind: Literal["notify", "wait"]
    contact_method_id: int | None = None
    wait_minutes: int | None = Field(default=None, ge=1, le=1440)


class RulesBody(BaseModel):
    steps: list[RuleStep] = Field(max_length=20)


@router.get("/users/{user_id}/notification-rules")
def get_rules(user_id: int, session: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    rows = session.scalars(
        select(NotificationRule)
        .where(NotificationRule.user_id == user_id)
        .order_by(NotificationRule.urgency, NotificationRule.position)
    ).all()
    out: dict[str, list[dict[str, Any]]] = {"default": [], "important": []}
    for r in rows:
        out[r.urgency].append(
            {
                "kind": r.kind,
                "contact_method_id": r.contact_method_id,
                "wait_minutes": r.wait_minutes,
            }
        )
    return out


@router.put(
    "/users/{user_id}/notification-rules/{urgency}",
    summary="Replace the default or important rule list",
)
def put_rules(
    user_id: int,
    urgency: Literal["default", "important"],
    body: RulesBody,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> dict[str, Any]:
    _check_user(principal, user_id)
    if session.get(User, user_id) is None:
        raise NotFound(f"user {user_id} does not exist")
    for index, step in enumerate(body.steps):
        if step.kind == "notify":
            if step.contact_method_id is None:
                raise Invalid(f"steps[{index}].contact_method_id: required for a notify step")
            _method(session, user_id, step.contact_method_id)
        elif step.wait_minutes is None:
            raise Invalid(f"steps[{index}].wait_minutes: required for a wait step")
    session.execute(
        delete(NotificationRule).where(
            NotificationRule.user_id == user_id, NotificationRule.urgency == urgency
        )
    )
    for index, step in enumerate(body.steps):
        session.add(
            NotificationRule(
                user_id=user_id,
                urgency=urgency,
                position=index,
                kind=step.kind,
                contact_method_id=step.contact_method_id if step.kind == "notify" else None,
                wait_minutes=step.wait_minutes if step.kind == "wait" else None,
            )
        )
    audit.record(
        session,
        actor=principal,
        action="notification_rules.update",
        object_type="user",
        object_id=user_id,
        at=now,
        details={"urgency": urgency, "steps": len(body.steps)},
    )
    return {"urgency": urgency, "steps": [s.model_dump() for s in body.steps]}


class ChatIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    type: ChatType
    team_id: int | None = None
    settings: dict[str, str] = Field(description="never returned by the API")


@router.get("/chat-destinations")
def list_chat(session: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    rows = session.scalars(select(ChatDestination).order_by(ChatDestination.id)).all()
    return {
        "items": [{"id": d.id, "name": d.name, "type": d.type, "team_id": d.team_id} for d in rows]
    }


@router.post("/chat-destinations", status_code=status.HTTP_201_CREATED)
def create_chat(
    body: ChatIn, ctx: ContextDep, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> dict[str, Any]:
    principal.require_team_editor(body.team_id)
    settings = _validated(ctx, body.type, body.settings)
    row = ChatDestination(
        name=body.name,
        type=body.type,
        team_id=body.team_id,
        settings_encrypted=_engine(ctx).notifier.seal(settings),
        created_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=principal,
        action="chat_destination.create",
        object_type="chat_destination",
        object_id=row.id,
        at=now,
    )
    return {"id": row.id, "name": row.name, "type": row.type, "team_id": row.team_id}


class WebhookIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    url: str = Field(min_length=8, max_length=2000)
    team_id: int | None = None
    secret: str | None = Field(default=None, min_length=16, max_length=200)
    triggers: list[str] = Field(default_factory=lambda: ["created", "resolved"])
    body_template: str | None = Field(default=None, max_length=10000)
    headers: dict[str, str] = Field(default_factory=dict)
    condition_template: str | None = Field(default=None, max_length=4000)
    enabled: bool = True


@router.get("/outgoing-webhooks")
def list_webhooks(session: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    rows = session.scalars(select(OutgoingWebhook).order_by(OutgoingWebhook.id)).all()
    return {
        "items": [
            {
                "id": w.id,
                "name": w.name,
                "url": w.url,
                "team_id": w.team_id,
                "triggers": w.triggers,
                "enabled": w.enabled,
            }
            for w in rows
        ]
    }


@router.post("/outgoing-webhooks", status_code=status.HTTP_201_CREATED)
def create_webhook(
    body: WebhookIn,
    ctx: ContextDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> dict[str, Any]:
    from watchkeeper.alerts.templating import template_error
    from watchkeeper.notify.netguard import UnsafeUrl, check_url

    principal.require_team_editor(body.team_id)
    unknown = sorted(set(body.triggers) - set(EVENTS))
    if unknown:
        raise Invalid(f"triggers: unknown event {', '.join(unknown)}; use {', '.join(EVENTS)}")
    try:
        check_url(body.url, _engine(ctx).notifier.allow)
    except UnsafeUrl as exc:
        raise Invalid(f"url: {exc}") from None
    for name in ("body_template", "condition_template"):
        source = getattr(body, name)
        if source and (error := template_error(source)):
            raise Invalid(f"{name}: {error}")
    row = OutgoingWebhook(
        name=body.name,
        url=body.url,
        team_id=body.team_id,
        secret_encrypted=_engine(ctx).notifier.box.encrypt(body.secret) if body.secret else None,
        triggers=body.triggers,
        body_template=body.body_template,
        headers=body.headers,
        condition_template=body.condition_template,
        enabled=body.enabled,
        created_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=principal,
        action="outgoing_webhook.create",
        object_type="outgoing_webhook",
        object_id=row.id,
        at=now,
    )
    return {"id": row.id, "name": row.name, "url": row.url, "triggers": row.triggers}


# -- one-click acknowledge links ---------------------------------------------------

_ACK_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    '<title>Acknowledge</title><link rel="stylesheet" href="/static/watchkeeper.css">'
    "</head><body><main>{body}</main></body></html>"
)


@ack_router.get("/ack/{token}", response_class=HTMLResponse, include_in_schema=False)
def ack_page(token: str, request: Request) -> HTMLResponse:
    # A GET only shows the button: mail scanners and chat unfurlers fetch links,
    # and must not acknowledge pages on someone's behalf.
    ctx = get_context(request)
    target = _engine(ctx).links.read(token)
    if target is None:
        return HTMLResponse(
            _ACK_PAGE.format(
                body="<p class='error'>This link has expired or is "
                "not valid. Open Watchkeeper to acknowledge.</p>"
            ),
            410,
        )
    with ctx.db.read() as session:
        group = group_svc.get_group(session, group_id=target[0])
        title = group.title
    body = (
        f"<h1>{_escape(title)}</h1><form method='post'>"
        "<button type='submit' autofocus>Acknowledge</button></form>"
    )
    return HTMLResponse(_ACK_PAGE.format(body=body))


@ack_router.post("/ack/{token}", response_class=HTMLResponse, include_in_schema=False)
def ack(token: str, request: Request) -> HTMLResponse:
    ctx = get_context(request)
    target = _engine(ctx).links.read(token)
    if target is None:
        return HTMLResponse(
            _ACK_PAGE.format(body="<p class='error'>This link has expired.</p>"), 410
        )
    group_id, user_id = target
    with ctx.db.write() as session:
        user = session.get(User, user_id)
        actor = Actor("user", user.email if user else f"user {user_id}")
        try:
            group = group_svc.acknowledge(
                session, group_id=group_id, actor=actor, now=ctx.clock.now()
            )
            message = f"Acknowledged: {_escape(group.title)}"
        except Conflict as exc:
            message = _escape(exc.message)
    _engine(ctx).wake()
    return HTMLResponse(_ACK_PAGE.format(body=f"<h1>{message}</h1>"))


def _escape(text: str) -> str:
    import html

    return html.escape(text)
