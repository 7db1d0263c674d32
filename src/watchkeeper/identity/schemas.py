"""Request and response bodies of the identity API."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

Role = Literal["admin", "editor", "viewer"]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def check_email(value: str) -> str:
    value = value.strip().lower()
    if not _EMAIL.match(value):
        raise ValueError("must be an email address like name@example.com")
    return value


def check_time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {value!r}; use an IANA name like Europe/Berlin"
        ) from exc
    return value


class UserCreate(BaseModel):
    email: str = Field(max_length=320)
    name: str = Field(min_length=1, max_length=200)
    username: str | None = Field(default=None, min_length=1, max_length=100)
    role: Role = "viewer"
    time_zone: str = "UTC"
    password: str | None = Field(default=None, min_length=8, max_length=200)

    _email = field_validator("email")(check_email)
    _tz = field_validator("time_zone")(check_time_zone)


class UserUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    username: str | None = Field(default=None, min_length=1, max_length=100)
    role: Role | None = None
    time_zone: str | None = None
    password: str | None = Field(default=None, min_length=8, max_length=200)
    is_active: bool | None = None

    @field_validator("time_zone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return None if value is None else check_time_zone(value)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    username: str | None
    name: str
    role: Role
    time_zone: str
    is_active: bool
    created_at: datetime


class MeOut(UserOut):
    team_ids: list[int]


class TeamCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)


class TeamUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)


class TeamOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    created_at: datetime
    member_ids: list[int]


class MemberAdd(BaseModel):
    user_id: int


class TokenCreate(BaseModel):
    name: str = Field(default="", max_length=200)


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="The secret token. Shown only once; store it now.")


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor_type: str
    actor_id: int | None
    actor_name: str
    action: str
    object_type: str
    object_id: str
    details: dict[str, Any]
