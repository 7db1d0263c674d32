"""My profile: name, time zone, my calendar feed; contact methods once notify exists."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from watchkeeper.api.deps import get_context
from watchkeeper.identity import service as identity
from watchkeeper.identity.schemas import UserUpdate
from watchkeeper.schedules import feeds
from watchkeeper.ui import extras, queries
from watchkeeper.ui.pages.schedules import COMMON_ZONES
from watchkeeper.ui.web import (
    CsrfField,
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
Text = Annotated[str, Form()]


@router.get("/profile")
def profile(request: Request, session: ReadSession, me: Reader) -> Response:
    token = feeds.get_user_token(session, user_id=me.user.id)
    teams = queries.team_names(session)
    return render(
        request,
        "profile.html",
        me,
        zones=sorted({me.user.time_zone, *COMMON_ZONES}),
        my_teams=[teams[t] for t in sorted(me.principal.team_ids) if t in teams],
        feed_url=feeds.user_feed_url(get_context(request).settings.base_url, token)
        if token
        else None,
        notify_ready=extras.notify_tables_available(),
        **contact_context(session, me.user.id),
    )


@router.post("/profile")
def update_profile(
    request: Request, name: Text, time_zone: Text, csrf: CsrfField = None
) -> Response:
    with editing(request, csrf) as (session, me):
        data = UserUpdate(name=name.strip(), time_zone=time_zone.strip())
        # Everyone may change their own name and zone; roles stay admin-only.
        identity.update_user(
            session, actor=me.principal, user_id=me.user.id, data=data, now=now_of(request)
        )
    flash(request, "Profile saved.")
    return redirect("/profile")


@router.post("/profile/feed")
def regenerate_feed(request: Request, csrf: CsrfField = None) -> Response:
    with editing(request, csrf) as (session, me):
        feeds.regenerate_user_token(
            session, actor=me.principal, user_id=me.user.id, now=now_of(request)
        )
    flash(request, "New calendar address created; the old one no longer works.")
    return redirect("/profile")


# -- contact methods and notification rules ----------------------------------

# The one setting a person types for each kind of contact method; provider
# credentials (SMTP server, bot tokens, Twilio account) come from the server's
# WATCHKEEPER_NOTIFY_DEFAULTS.
MAIN_SETTING = {
    "email": ("to", "Email address"),
    "sms": ("to", "Phone number (+15551234567)"),
    "voice": ("to", "Phone number (+15551234567)"),
    "slack": ("user", "Slack member ID (U…)"),
    "telegram": ("chat_id", "Telegram chat ID"),
    "ntfy": ("url", "ntfy topic URL"),
    "teams": ("url", "Teams workflow URL"),
    "webhook": ("url", "Webhook URL"),
    "apprise": ("url", "Apprise URL"),
}


def contact_context(session: ReadSession, user_id: int) -> dict[str, Any]:
    from sqlalchemy import select

    from watchkeeper.notify.models import ContactMethod, NotificationRule

    methods = session.scalars(
        select(ContactMethod).where(ContactMethod.user_id == user_id).order_by(ContactMethod.id)
    ).all()
    rules = session.scalars(
        select(NotificationRule)
        .where(NotificationRule.user_id == user_id)
        .order_by(NotificationRule.urgency, NotificationRule.position)
    ).all()
    names = {m.id: f"{m.name} ({m.type})" for m in methods}
    words = {"default": [], "important": []}  # type: dict[str, list[str]]
    for rule in rules:
        words[rule.urgency].append(
            f"Notify via {names.get(rule.contact_method_id or 0, 'a deleted method')}"
            if rule.kind == "notify"
            else f"Wait {rule.wait_minutes} minutes"
        )
    return {"methods": methods, "rule_words": words, "method_kinds": MAIN_SETTING}


@router.post("/profile/contact-methods")
def add_contact_method(
    request: Request,
    type: Text,
    value: Text,
    name: Text = "",
    secret: Text = "",
    csrf: CsrfField = None,
) -> Response:
    from watchkeeper.notify.api import ContactMethodIn, create_contact_method

    if type not in MAIN_SETTING:
        flash(request, "Choose a kind of contact method.")
        return redirect("/profile")
    settings = {MAIN_SETTING[type][0]: value.strip()}
    if type == "webhook":
        settings["secret"] = secret.strip()
    with editing(request, csrf) as (session, me):
        create_contact_method(
            me.user.id,
            ContactMethodIn(type=type, name=name.strip(), settings=settings),
            get_context(request),
            session,
            me.principal,
            now_of(request),
        )
    flash(request, "Added. We sent a 6-digit code to it: enter it below to turn it on.")
    return redirect("/profile")


@router.post("/profile/contact-methods/{method_id}/verify")
def verify_contact_method(
    request: Request, method_id: int, code: Text, csrf: CsrfField = None
) -> Response:
    from watchkeeper.notify.api import VerifyBody
    from watchkeeper.notify.api import verify_contact_method as verify

    with editing(request, csrf) as (session, me):
        verify(
            me.user.id,
            method_id,
            VerifyBody(code=code.strip()),
            session,
            me.principal,
            now_of(request),
        )
    flash(request, "Verified: this contact method can now page you.")
    return redirect("/profile")


@router.post("/profile/contact-methods/{method_id}/test")
def send_test_notification(request: Request, method_id: int, csrf: CsrfField = None) -> Response:
    from watchkeeper.notify.api import test_contact_method as send_test

    with editing(request, csrf) as (session, me):
        send_test(
            me.user.id, method_id, get_context(request), session, me.principal, now_of(request)
        )
    flash(request, "Test notification sent.")
    return redirect("/profile")


@router.post("/profile/rules/{urgency}")
def set_rules(
    request: Request,
    urgency: str,
    method_id: Annotated[int, Form()],
    wait_minutes: Annotated[int, Form()] = 5,
    csrf: CsrfField = None,
) -> Response:
    """A simple rule list: notify via the method, wait, notify again."""
    from watchkeeper.notify.api import RulesBody, RuleStep, put_rules

    if urgency not in ("default", "important"):
        flash(request, "Unknown rule list.")
        return redirect("/profile")
    steps = [
        RuleStep(kind="notify", contact_method_id=method_id),
        RuleStep(kind="wait", wait_minutes=max(1, min(wait_minutes, 1440))),
        RuleStep(kind="notify", contact_method_id=method_id),
    ]
    chosen: Literal["default", "important"] = "important" if urgency == "important" else "default"
    with editing(request, csrf) as (session, me):
        put_rules(
            me.user.id, chosen, RulesBody(steps=steps), session, me.principal, now_of(request)
        )
    flash(request, "Notification rules saved.")
    return redirect("/profile")
