"""REST API for users, teams, tokens and the audit log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, status

from watchkeeper.api.deps import CurrentPrincipal, NowDep, SessionDep
from watchkeeper.errors import Forbidden
from watchkeeper.identity import audit
from watchkeeper.identity import service as svc
from watchkeeper.identity.models import Team, User
from watchkeeper.identity.schemas import (
    AuditOut,
    MemberAdd,
    MeOut,
    TeamCreate,
    TeamOut,
    TeamUpdate,
    TokenCreate,
    TokenCreated,
    TokenOut,
    UserCreate,
    UserOut,
    UserUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["identity"])


def team_out(team: Team) -> TeamOut:
    return TeamOut(
        id=team.id,
        name=team.name,
        description=team.description,
        created_at=team.created_at,
        member_ids=sorted(m.user_id for m in team.memberships),
    )


@router.get("/me", response_model=MeOut, summary="The user behind the token")
def me(session: SessionDep, principal: CurrentPrincipal) -> MeOut:
    assert principal.id is not None
    user = svc.get_user(session, user_id=principal.id)
    return MeOut(**UserOut.model_validate(user).model_dump(), team_ids=sorted(principal.team_ids))


@router.get("/users", summary="List users")
def list_users(session: SessionDep, principal: CurrentPrincipal) -> dict[str, list[UserOut]]:
    return {"items": [UserOut.model_validate(u) for u in svc.list_users(session)]}


@router.post(
    "/users", response_model=UserOut, status_code=status.HTTP_201_CREATED, summary="Create a user"
)
def create_user(
    body: UserCreate, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> User:
    principal.require("admin")
    return svc.create_user(session, actor=principal, data=body, now=now)


@router.get("/users/{user_id}", response_model=UserOut, summary="One user")
def get_user(user_id: int, session: SessionDep, principal: CurrentPrincipal) -> User:
    return svc.get_user(session, user_id=user_id)


@router.patch("/users/{user_id}", response_model=UserOut, summary="Change a user")
def update_user(
    user_id: int, body: UserUpdate, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> User:
    # Everyone may edit their own profile, but only admins change roles and others.
    if principal.id != user_id or body.role is not None or body.is_active is not None:
        principal.require("admin")
    return svc.update_user(session, actor=principal, user_id=user_id, data=body, now=now)


@router.delete("/users/{user_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a user")
def delete_user(
    user_id: int, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> None:
    principal.require("admin")
    svc.delete_user(session, actor=principal, user_id=user_id, now=now)


@router.get("/teams", summary="List teams")
def list_teams(session: SessionDep, principal: CurrentPrincipal) -> dict[str, list[TeamOut]]:
    return {"items": [team_out(t) for t in svc.list_teams(session)]}


@router.post(
    "/teams", response_model=TeamOut, status_code=status.HTTP_201_CREATED, summary="Create a team"
)
def create_team(
    body: TeamCreate, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> TeamOut:
    principal.require("admin")
    team = svc.create_team(
        session, actor=principal, name=body.name, description=body.description, now=now
    )
    return team_out(svc.get_team(session, team_id=team.id))


@router.get("/teams/{team_id}", response_model=TeamOut, summary="One team with its members")
def get_team(team_id: int, session: SessionDep, principal: CurrentPrincipal) -> TeamOut:
    return team_out(svc.get_team(session, team_id=team_id))


@router.patch("/teams/{team_id}", response_model=TeamOut, summary="Change a team")
def update_team(
    team_id: int, body: TeamUpdate, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> TeamOut:
    principal.require_team_editor(team_id)
    team = svc.update_team(
        session,
        actor=principal,
        team_id=team_id,
        name=body.name,
        description=body.description,
        now=now,
    )
    return team_out(team)


@router.delete("/teams/{team_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a team")
def delete_team(
    team_id: int, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> None:
    principal.require("admin")
    svc.delete_team(session, actor=principal, team_id=team_id, now=now)


@router.post(
    "/teams/{team_id}/members",
    response_model=TeamOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add a member to a team",
)
def add_member(
    team_id: int, body: MemberAdd, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> TeamOut:
    principal.require_team_editor(team_id)
    team = svc.add_member(session, actor=principal, team_id=team_id, user_id=body.user_id, now=now)
    return team_out(team)


@router.delete(
    "/teams/{team_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a member from a team",
)
def remove_member(
    team_id: int, user_id: int, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> None:
    principal.require_team_editor(team_id)
    svc.remove_member(session, actor=principal, team_id=team_id, user_id=user_id, now=now)


@router.get("/tokens", summary="Your API tokens (admins: any user's with ?user_id=)")
def list_tokens(
    session: SessionDep,
    principal: CurrentPrincipal,
    user_id: int | None = None,
) -> dict[str, list[TokenOut]]:
    target = principal.id if user_id is None else user_id
    if target != principal.id:
        principal.require("admin")
    assert target is not None
    return {"items": [TokenOut.model_validate(t) for t in svc.list_tokens(session, user_id=target)]}


@router.post(
    "/tokens",
    response_model=TokenCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Create an API token for yourself; the secret is shown only in this response",
)
def create_token(
    body: TokenCreate, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> TokenCreated:
    assert principal.id is not None
    token, secret = svc.create_token(
        session, actor=principal, user_id=principal.id, name=body.name, now=now
    )
    return TokenCreated(**TokenOut.model_validate(token).model_dump(), token=secret)


@router.delete(
    "/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Revoke a token"
)
def revoke_token(
    token_id: int, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> None:
    svc.revoke_token(session, actor=principal, token_id=token_id, now=now)


@router.get("/audit-log", summary="Audit log, newest first (admins)")
def audit_log(
    session: SessionDep,
    principal: CurrentPrincipal,
    object_type: str | None = None,
    object_id: str | None = None,
    before_id: int | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> dict[str, Any]:
    if not principal.is_admin:
        raise Forbidden("the audit log is visible to admins only")
    entries = audit.list_entries(
        session, object_type=object_type, object_id=object_id, before_id=before_id, limit=limit
    )
    items = [AuditOut.model_validate(e) for e in entries]
    return {"items": items, "next_before_id": items[-1].id if len(items) == limit else None}
