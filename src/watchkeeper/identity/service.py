"""Identity services: keyword-only functions that take a session."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from watchkeeper.errors import Conflict, Invalid, NotFound
from watchkeeper.identity import audit
from watchkeeper.identity.credentials import (
    hash_password,
    hash_token,
    new_api_token,
    verify_password,
)
from watchkeeper.identity.models import ApiToken, Team, TeamMembership, User
from watchkeeper.identity.principal import Principal
from watchkeeper.identity.schemas import UserCreate, UserUpdate

# Writing last_used_at on every request would turn every read into a write;
# a minute of precision is plenty for "when was this token last used".
LAST_USED_PRECISION = timedelta(minutes=1)


def principal_for(session: Session, user: User) -> Principal:
    team_ids = session.scalars(
        select(TeamMembership.team_id).where(TeamMembership.user_id == user.id)
    ).all()
    return Principal(
        kind="user", id=user.id, name=user.email, role=user.role, team_ids=frozenset(team_ids)
    )


# -- users -------------------------------------------------------------------


def count_users(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0


def get_user(session: Session, *, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    return user


def get_user_by_email(session: Session, *, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"no user with email {email}")
    return user


def list_users(session: Session) -> Sequence[User]:
    return session.scalars(select(User).order_by(User.id)).all()


def _check_unique(session: Session, *, email: str | None, username: str | None, skip: int) -> None:
    if email and session.scalar(select(User.id).where(User.email == email, User.id != skip)):
        raise Conflict(f"a user with email {email} already exists")
    if username and session.scalar(
        select(User.id).where(User.username == username, User.id != skip)
    ):
        raise Conflict(f"a user with username {username} already exists")


def create_user(session: Session, *, actor: Principal, data: UserCreate, now: datetime) -> User:
    _check_unique(session, email=data.email, username=data.username, skip=-1)
    user = User(
        email=data.email,
        username=data.username,
        name=data.name,
        role=data.role,
        time_zone=data.time_zone,
        password_hash=hash_password(data.password) if data.password else None,
        is_active=True,
        created_at=now,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.create",
        object_type="user",
        object_id=user.id,
        at=now,
        details={"email": user.email, "role": user.role},
    )
    return user


def update_user(
    session: Session, *, actor: Principal, user_id: int, data: UserUpdate, now: datetime
) -> User:
    user = get_user(session, user_id=user_id)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    _check_unique(session, email=None, username=changes.get("username"), skip=user.id)
    password = changes.pop("password", None)
    for key, value in changes.items():
        setattr(user, key, value)
    if password:
        user.password_hash = hash_password(password)
    audit.record(
        session,
        actor=actor,
        action="user.update",
        object_type="user",
        object_id=user.id,
        at=now,
        details={"fields": sorted([*changes, *(["password"] if password else [])])},
    )
    return user


def delete_user(session: Session, *, actor: Principal, user_id: int, now: datetime) -> None:
    user = get_user(session, user_id=user_id)
    if actor.id == user.id:
        raise Invalid("you cannot delete yourself; ask another admin")
    session.delete(user)
    audit.record(
        session,
        actor=actor,
        action="user.delete",
        object_type="user",
        object_id=user_id,
        at=now,
        details={"email": user.email},
    )


def authenticate_password(session: Session, *, email: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.is_active or not user.password_hash:
        # Spend the same time as a real check so timing does not reveal emails.
        verify_password(_DUMMY_HASH, password)
        return None
    return user if verify_password(user.password_hash, password) else None


_DUMMY_HASH = hash_password("not-a-real-password")


# -- teams -------------------------------------------------------------------


def get_team(session: Session, *, team_id: int) -> Team:
    team = session.get(Team, team_id, options=[selectinload(Team.memberships)])
    if team is None:
        raise NotFound(f"team {team_id} does not exist")
    return team


def list_teams(session: Session) -> Sequence[Team]:
    return session.scalars(
        select(Team).options(selectinload(Team.memberships)).order_by(Team.id)
    ).all()


def create_team(
    session: Session, *, actor: Principal, name: str, description: str, now: datetime
) -> Team:
    if session.scalar(select(Team.id).where(Team.name == name)):
        raise Conflict(f"a team named {name!r} already exists")
    team = Team(name=name, description=description, created_at=now)
    session.add(team)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="team.create",
        object_type="team",
        object_id=team.id,
        at=now,
        details={"name": name},
    )
    return team


def update_team(
    session: Session,
    *,
    actor: Principal,
    team_id: int,
    name: str | None,
    description: str | None,
    now: datetime,
) -> Team:
    team = get_team(session, team_id=team_id)
    if name is not None and name != team.name:
        if session.scalar(select(Team.id).where(Team.name == name)):
            raise Conflict(f"a team named {name!r} already exists")
        team.name = name
    if description is not None:
        team.description = description
    audit.record(
        session,
        actor=actor,
        action="team.update",
        object_type="team",
        object_id=team.id,
        at=now,
        details={"name": team.name},
    )
    return team


def delete_team(session: Session, *, actor: Principal, team_id: int, now: datetime) -> None:
    team = get_team(session, team_id=team_id)
    session.delete(team)
    audit.record(
        session,
        actor=actor,
        action="team.delete",
        object_type="team",
        object_id=team_id,
        at=now,
        details={"name": team.name},
    )


def add_member(
    session: Session, *, actor: Principal, team_id: int, user_id: int, now: datetime
) -> Team:
    team = get_team(session, team_id=team_id)
    get_user(session, user_id=user_id)
    if any(m.user_id == user_id for m in team.memberships):
        raise Conflict(f"user {user_id} is already a member of team {team_id}")
    team.memberships.append(TeamMembership(team_id=team_id, user_id=user_id))
    audit.record(
        session,
        actor=actor,
        action="team.member_add",
        object_type="team",
        object_id=team_id,
        at=now,
        details={"user_id": user_id},
    )
    return team


def remove_member(
    session: Session, *, actor: Principal, team_id: int, user_id: int, now: datetime
) -> None:
    team = get_team(session, team_id=team_id)
    membership = next((m for m in team.memberships if m.user_id == user_id), None)
    if membership is None:
        raise NotFound(f"user {user_id} is not a member of team {team_id}")
    team.memberships.remove(membership)
    audit.record(
        session,
        actor=actor,
        action="team.member_remove",
        object_type="team",
        object_id=team_id,
        at=now,
        details={"user_id": user_id},
    )


# -- API tokens --------------------------------------------------------------


def create_token(
    session: Session, *, actor: Principal, user_id: int, name: str, now: datetime
) -> tuple[ApiToken, str]:
    """Create a token; the plain secret is returned once and never stored."""
    get_user(session, user_id=user_id)
    secret = new_api_token()
    token = ApiToken(
        user_id=user_id,
        name=name,
        token_hash=hash_token(secret),
        prefix=secret[:10],
        created_at=now,
    )
    session.add(token)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="token.create",
        object_type="api_token",
        object_id=token.id,
        at=now,
        details={"user_id": user_id, "name": name},
    )
    return token, secret


def list_tokens(session: Session, *, user_id: int) -> Sequence[ApiToken]:
    return session.scalars(
        select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id)
    ).all()


def revoke_token(session: Session, *, actor: Principal, token_id: int, now: datetime) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None or (not actor.is_admin and token.user_id != actor.id):
        raise NotFound(f"token {token_id} does not exist")
    if token.revoked_at is None:
        token.revoked_at = now
        audit.record(
            session,
            actor=actor,
            action="token.revoke",
            object_type="api_token",
            object_id=token.id,
            at=now,
        )
    return token


def find_active_token(session: Session, *, secret: str) -> ApiToken | None:
    """The unrevoked token with this secret and an active user, or None."""
    token = session.scalar(
        select(ApiToken)
        .options(selectinload(ApiToken.user))
        .where(ApiToken.token_hash == hash_token(secret))
    )
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    return token


def touch_token(session: Session, *, token_id: int, now: datetime) -> None:
    """Record use of a token, at most once per minute of precision."""
    session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id)
        .where(
            (ApiToken.last_used_at.is_(None)) | (ApiToken.last_used_at < now - LAST_USED_PRECISION)
        )
        .values(last_used_at=now)
    )
