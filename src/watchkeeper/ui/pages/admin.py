"""Teams and users, for admins: list, create, add a member."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from watchkeeper.identity import service as identity
from watchkeeper.identity.models import ROLES
from watchkeeper.identity.schemas import UserCreate
from watchkeeper.ui import queries
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
OptionalText = Annotated[str | None, Form()]


@router.get("/admin/teams")
def teams_page(request: Request, session: ReadSession, me: Reader) -> Response:
    me.principal.require("admin")
    users = queries.user_choices(session)
    return render(
        request,
        "admin/teams.html",
        me,
        teams=identity.list_teams(session),
        users=users,
        names={uid: name for uid, name, _ in users},
    )


@router.post("/admin/teams")
def create_team(
    request: Request, name: Text, description: Text = "", csrf: CsrfField = None
) -> Response:
    with editing(request, csrf) as (session, me):
        me.principal.require("admin")
        identity.create_team(
            session,
            actor=me.principal,
            name=name.strip(),
            description=description.strip(),
            now=now_of(request),
        )
    flash(request, f"Created team {name.strip()}.")
    return redirect("/admin/teams")


@router.post("/admin/teams/{team_id}/members")
def add_member(
    request: Request, team_id: int, user_id: Annotated[int, Form()], csrf: CsrfField = None
) -> Response:
    with editing(request, csrf) as (session, me):
        me.principal.require_team_editor(team_id)
        identity.add_member(
            session, actor=me.principal, team_id=team_id, user_id=user_id, now=now_of(request)
        )
    flash(request, "Member added.")
    return redirect("/admin/teams")


@router.get("/admin/users")
def users_page(request: Request, session: ReadSession, me: Reader) -> Response:
    me.principal.require("admin")
    teams = {t.id: t.name for t in identity.list_teams(session)}
    memberships: dict[int, list[str]] = {}
    for team in identity.list_teams(session):
        for membership in team.memberships:
            memberships.setdefault(membership.user_id, []).append(teams[team.id])
    return render(
        request,
        "admin/users.html",
        me,
        users=identity.list_users(session),
        memberships=memberships,
        roles=ROLES,
    )


@router.post("/admin/users")
def create_user(
    request: Request,
    email: Text,
    name: Text,
    role: Text,
    password: OptionalText = None,
    time_zone: Text = "UTC",
    csrf: CsrfField = None,
) -> Response:
    with editing(request, csrf) as (session, me):
        me.principal.require("admin")
        data = UserCreate.model_validate(
            {
                "email": email,
                "name": name.strip(),
                "role": role,
                "password": password or None,
                "time_zone": time_zone.strip() or "UTC",
            }
        )
        identity.create_user(session, actor=me.principal, data=data, now=now_of(request))
    flash(request, f"Created {data.email}.")
    return redirect("/admin/users")
