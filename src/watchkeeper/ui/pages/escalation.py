"""Escalation chains in plain words: "Wait 5 minutes", "Notify whoever is on call in …"."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from watchkeeper.escalation.models import EscalationChain, Route
from watchkeeper.identity.models import Team, User
from watchkeeper.schedules.models import Schedule
from watchkeeper.ui.web import Reader, ReadSession, UiRoute, render

router = APIRouter(route_class=UiRoute)
WEEKDAY_WORDS = {
    "mon": "Mon",
    "tue": "Tue",
    "wed": "Wed",
    "thu": "Thu",
    "fri": "Fri",
    "sat": "Sat",
    "sun": "Sun",
}


def describe(step: dict[str, Any], names: dict[str, dict[int, str]]) -> str:
    """One step as a sentence a person on call understands."""
    kind = step.get("type")
    loud = " (important)" if step.get("important") else ""
    users = ", ".join(names["users"].get(u, f"user {u}") for u in step.get("user_ids", []))
    if kind == "wait":
        minutes = int(step.get("minutes", 0))
        return f"Wait {minutes} minute{'s' if minutes != 1 else ''}"
    if kind == "notify_users":
        return f"Notify {users}{loud}"
    if kind == "notify_on_call":
        schedule = names["schedules"].get(step.get("schedule_id", 0), "a deleted schedule")
        return f"Notify whoever is on call in {schedule}{loud}"
    if kind == "notify_team":
        team = names["teams"].get(step.get("team_id", 0), "a deleted team")
        return f"Notify everyone in {team}{loud}"
    if kind == "notify_round_robin":
        return f"Notify the next of {users} in turn{loud}"
    if kind == "continue_if_time_window":
        days = ", ".join(WEEKDAY_WORDS.get(d, d) for d in step.get("weekdays", []))
        return f"Stop unless it is {days} between {step.get('start')} and {step.get('end')}"
    if kind == "continue_if_alert_rate":
        return (
            f"Stop unless more than {step.get('threshold')} alerts arrived in the last "
            f"{step.get('minutes')} minutes"
        )
    if kind == "trigger_webhook":
        return f"Call outgoing webhook {step.get('webhook_id')}"
    if kind == "repeat":
        return f"Start again from the top (at most {step.get('times')} times)"
    if kind == "resolve":
        return "Resolve the alert group"
    if kind == "declare_incident":
        return f"Declare a {step.get('severity')} incident"
    return str(kind)


def _names(session: ReadSession) -> dict[str, dict[int, str]]:
    return {
        "users": {u.id: u.name for u in session.scalars(select(User))},
        "teams": {t.id: t.name for t in session.scalars(select(Team))},
        "schedules": {s.id: s.name for s in session.scalars(select(Schedule))},
    }


@router.get("/escalation-chains")
def chains(request: Request, session: ReadSession, me: Reader) -> Response:
    names = _names(session)
    rows = session.scalars(select(EscalationChain).order_by(EscalationChain.name)).all()
    routes = session.scalars(select(Route)).all()
    used_by: dict[int, int] = {}
    for route in routes:
        if route.escalation_chain_id is not None:
            used_by[route.escalation_chain_id] = used_by.get(route.escalation_chain_id, 0) + 1
    items = [
        {
            "chain": chain,
            "team": names["teams"].get(chain.team_id or 0, "no team"),
            "steps": [describe(step, names) for step in chain.steps],
            "routes": used_by.get(chain.id, 0),
        }
        for chain in rows
    ]
    return render(request, "escalation/list.html", me, items=items)
