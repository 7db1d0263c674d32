"""Schedule services: schedules, layers, rotations and overrides (keyword-only, take a session).

Every change bumps the schedule's ``version`` through ``touch``, which is what
invalidates cached definitions (see ``definitions``).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime, time
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from watchkeeper.errors import Conflict, Invalid, NotFound
from watchkeeper.identity import audit
from watchkeeper.identity.models import Team, User
from watchkeeper.identity.principal import Principal
from watchkeeper.schedules import definitions
from watchkeeper.schedules.models import (
    Schedule,
    ScheduleLayer,
    ScheduleOverride,
    ScheduleRotation,
)
from watchkeeper.schedules.schemas import (
    LayerCreate,
    LayerUpdate,
    OverrideCreate,
    RotationIn,
    ScheduleCreate,
    ScheduleUpdate,
)


def new_feed_token() -> str:
    """A URL-safe 256-bit secret for iCal feed URLs."""
    return secrets.token_urlsafe(32)


def touch(session: Session, *, schedule_id: int, now: datetime) -> None:
    """Record that a schedule changed: bump its version so cached definitions are rebuilt."""
    # An SQL-side increment: two concurrent writers on PostgreSQL end at N+2,
    # never both at N+1 (which would let a stale cached definition survive).
    session.execute(
        update(Schedule)
        .where(Schedule.id == schedule_id)
        .values(version=Schedule.version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    definitions.mark_changed(session, schedule_id)
    existing = session.get(Schedule, schedule_id)
    if existing is not None:
        session.refresh(existing, ["version", "updated_at"])


# -- schedules ---------------------------------------------------------------


def get_schedule(session: Session, *, schedule_id: int) -> Schedule:
    schedule = session.get(
        Schedule,
        schedule_id,
        options=[
            selectinload(Schedule.layers).selectinload(ScheduleLayer.rotations),
            selectinload(Schedule.calendars),
        ],
    )
    if schedule is None:
        raise NotFound(f"schedule {schedule_id} does not exist")
    return schedule


def get_schedule_by_name(session: Session, *, name: str) -> Schedule:
    schedule = session.scalar(select(Schedule).where(Schedule.name == name))
    if schedule is None:
        raise NotFound(f"no schedule named {name!r}")
    return get_schedule(session, schedule_id=schedule.id)


def list_schedules(session: Session, *, team_id: int | None = None) -> Sequence[Schedule]:
    query = (
        select(Schedule)
        .options(
            selectinload(Schedule.layers).selectinload(ScheduleLayer.rotations),
            selectinload(Schedule.calendars),
        )
        .order_by(Schedule.name)
    )
    if team_id is not None:
        query = query.where(Schedule.team_id == team_id)
    return session.scalars(query).all()


def _check_team(session: Session, team_id: int | None) -> None:
    if team_id is not None and session.get(Team, team_id) is None:
        raise Invalid(f"team_id: team {team_id} does not exist")


def _check_name(session: Session, name: str, skip: int) -> None:
    if session.scalar(select(Schedule.id).where(Schedule.name == name, Schedule.id != skip)):
        raise Conflict(f"a schedule named {name!r} already exists")


def create_schedule(
    session: Session, *, actor: Principal, data: ScheduleCreate, now: datetime
) -> Schedule:
    _check_team(session, data.team_id)
    _check_name(session, data.name, -1)
    schedule = Schedule(
        name=data.name,
        time_zone=data.time_zone,
        team_id=data.team_id,
        ical_token=new_feed_token(),
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(schedule)
    session.flush()
    _audit(session, actor, "schedule.create", schedule.id, now, {"name": data.name})
    return get_schedule(session, schedule_id=schedule.id)


def update_schedule(
    session: Session, *, actor: Principal, schedule_id: int, data: ScheduleUpdate, now: datetime
) -> Schedule:
    schedule = get_schedule(session, schedule_id=schedule_id)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("name") is not None:
        _check_name(session, changes["name"], schedule.id)
        schedule.name = changes["name"]
    if changes.get("time_zone") is not None:
        schedule.time_zone = changes["time_zone"]
    if "team_id" in changes:
        _check_team(session, changes["team_id"])
        schedule.team_id = changes["team_id"]
    session.flush()
    touch(session, schedule_id=schedule.id, now=now)
    _audit(session, actor, "schedule.update", schedule.id, now, {"fields": sorted(changes)})
    return schedule


def delete_schedule(session: Session, *, actor: Principal, schedule_id: int, now: datetime) -> None:
    schedule = get_schedule(session, schedule_id=schedule_id)
    session.delete(schedule)
    definitions.mark_changed(session, schedule_id)
    _audit(session, actor, "schedule.delete", schedule_id, now, {"name": schedule.name})


def regenerate_ical_token(
    session: Session, *, actor: Principal, schedule_id: int, now: datetime
) -> Schedule:
    schedule = get_schedule(session, schedule_id=schedule_id)
    schedule.ical_token = new_feed_token()
    _audit(session, actor, "schedule.ical_token_regenerate", schedule_id, now, {})
    return schedule


def _audit(
    session: Session,
    actor: Principal,
    action: str,
    schedule_id: int,
    now: datetime,
    details: dict[str, Any],
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        object_type="schedule",
        object_id=schedule_id,
        at=now,
        details=details,
    )


def check_users(session: Session, user_ids: Iterable[int]) -> None:
    """Raise ``Invalid`` naming every id that is not a user."""
    wanted = set(user_ids)
    if not wanted:
        return
    found = set(session.scalars(select(User.id).where(User.id.in_(wanted))).all())
    missing = sorted(wanted - found)
    if missing:
        raise Invalid(f"user_ids: no user with id {', '.join(map(str, missing))}")


# -- layers and rotations ----------------------------------------------------


def get_layer(session: Session, *, schedule_id: int, layer_id: int) -> ScheduleLayer:
    layer = session.get(ScheduleLayer, layer_id, options=[selectinload(ScheduleLayer.rotations)])
    if layer is None or layer.schedule_id != schedule_id:
        raise NotFound(f"layer {layer_id} does not exist in schedule {schedule_id}")
    return layer


def add_layer(
    session: Session, *, actor: Principal, schedule_id: int, data: LayerCreate, now: datetime
) -> ScheduleLayer:
    schedule = get_schedule(session, schedule_id=schedule_id)
    position = data.position
    if position is None:
        position = max((layer.position for layer in schedule.layers), default=-1) + 1
    layer = ScheduleLayer(schedule_id=schedule_id, name=data.name, position=position)
    session.add(layer)
    session.flush()
    for rotation in data.rotations:
        _new_rotation(session, layer, rotation)
    session.flush()
    touch(session, schedule_id=schedule_id, now=now)
    _audit(session, actor, "schedule.layer_add", schedule_id, now, {"layer_id": layer.id})
    return get_layer(session, schedule_id=schedule_id, layer_id=layer.id)


def update_layer(
    session: Session,
    *,
    actor: Principal,
    schedule_id: int,
    layer_id: int,
    data: LayerUpdate,
    now: datetime,
) -> ScheduleLayer:
    layer = get_layer(session, schedule_id=schedule_id, layer_id=layer_id)
    if data.name is not None:
        layer.name = data.name
    if data.position is not None:
        layer.position = data.position
    session.flush()
    touch(session, schedule_id=schedule_id, now=now)
    _audit(session, actor, "schedule.layer_update", schedule_id, now, {"layer_id": layer_id})
    return layer


def delete_layer(
    session: Session, *, actor: Principal, schedule_id: int, layer_id: int, now: datetime
) -> None:
    layer = get_layer(session, schedule_id=schedule_id, layer_id=layer_id)
    session.delete(layer)
    session.flush()
    touch(session, schedule_id=schedule_id, now=now)
    _audit(session, actor, "schedule.layer_delete", schedule_id, now, {"layer_id": layer_id})


def _rotation_fields(data: RotationIn) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "name": data.name,
        "user_ids": list(data.user_ids),
        "start": data.start,
        "shift_count": data.shift_count,
        "shift_unit": data.shift_unit,
        "handoff_time": _hhmm(data.handoff_time) if data.handoff_time else None,
        "restrictions": [
            {"weekdays": r.weekdays, "start": _hhmm(r.start), "end": _hhmm(r.end)}
            for r in data.restrictions
        ],
        "end": data.end,
    }
    # Build the pure rotation once so anything it rejects is a 422 now, not a
    # broken schedule later.
    try:
        definitions.rotation_of(ScheduleRotation(id=0, **fields), keep_users=None)
    except ValueError as exc:
        raise Invalid(str(exc)) from exc
    return fields


def _hhmm(value: time) -> str:
    return value.strftime("%H:%M:%S" if value.second else "%H:%M")


def _new_rotation(session: Session, layer: ScheduleLayer, data: RotationIn) -> ScheduleRotation:
    check_users(session, data.user_ids)
    rotation = ScheduleRotation(layer_id=layer.id, **_rotation_fields(data))
    session.add(rotation)
    return rotation


def get_rotation(
    session: Session, *, schedule_id: int, layer_id: int, rotation_id: int
) -> ScheduleRotation:
    rotation = session.get(ScheduleRotation, rotation_id)
    if rotation is None or rotation.layer_id != layer_id:
        raise NotFound(f"rotation {rotation_id} does not exist in layer {layer_id}")
    get_layer(session, schedule_id=schedule_id, layer_id=layer_id)
    return rotation


def add_rotation(
    session: Session,
    *,
    actor: Principal,
    schedule_id: int,
    layer_id: int,
    data: RotationIn,
    now: datetime,
) -> ScheduleRotation:
    layer = get_layer(session, schedule_id=schedule_id, layer_id=layer_id)
    rotation = _new_rotation(session, layer, data)
    session.flush()
    touch(session, schedule_id=schedule_id, now=now)
    _audit(session, actor, "schedule.rotation_add", schedule_id, now, {"rotation_id": rotation.id})
    return rotation


def replace_rotation(
    session: Session,
    *,
    actor: Principal,
    schedule_id: int,
    layer_id: int,
    rotation_id: int,
    data: RotationIn,
    now: datetime,
) -> ScheduleRotation:
    rotation = get_rotation(
        session, schedule_id=schedule_id, layer_id=layer_id, rotation_id=rotation_id
    )
    check_users(session, data.user_ids)
    for key, value in _rotation_fields(data).items():
        setattr(rotation, key, value)
    session.flush()
    touch(session, schedule_id=schedule_id, now=now)
    _audit(
        session, actor, "schedule.rotation_update", schedule_id, now, {"rotation_id": rotation_id}
    )
    return rotation


def delete_rotation(
    session: Session,
    *,
    actor: Principal,
    schedule_id: int,
    layer_id: int,
    rotation_id: int,
    now: datetime,
) -> None:
    rotation = get_rotation(
        session, schedule_id=schedule_id, layer_id=layer_id, rotation_id=rotation_id
    )
    session.delete(rotation)
    session.flush()
    touch(session, schedule_id=schedule_id, now=now)
    _audit(
        session, actor, "schedule.rotation_delete", schedule_id, now, {"rotation_id": rotation_id}
    )


# -- overrides ---------------------------------------------------------------


def list_overrides(
    session: Session,
    *,
    schedule_id: int,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Sequence[ScheduleOverride]:
    get_schedule(session, schedule_id=schedule_id)
    query = select(ScheduleOverride).where(ScheduleOverride.schedule_id == schedule_id)
    if start is not None:
        query = query.where(ScheduleOverride.end > start)
    if end is not None:
        query = query.where(ScheduleOverride.start < end)
    return session.scalars(query.order_by(ScheduleOverride.start, ScheduleOverride.id)).all()


def add_override(
    session: Session,
    *,
    actor: Principal,
    schedule_id: int,
    data: OverrideCreate,
    now: datetime,
) -> ScheduleOverride:
    get_schedule(session, schedule_id=schedule_id)
    check_users(session, data.user_ids)
    override = ScheduleOverride(
        schedule_id=schedule_id,
        start=data.start,
        end=data.end,
        user_ids=list(dict.fromkeys(data.user_ids)),
        reason=data.reason,
        created_by=actor.id if actor.kind == "user" else None,
        created_at=now,
    )
    session.add(override)
    session.flush()
    touch(session, schedule_id=schedule_id, now=now)
    _audit(
        session,
        actor,
        "schedule.override_add",
        schedule_id,
        now,
        {
            "override_id": override.id,
            "start": data.start.isoformat(),
            "end": data.end.isoformat(),
            "user_ids": override.user_ids,
            "reason": data.reason,
        },
    )
    return override


def delete_override(
    session: Session, *, actor: Principal, schedule_id: int, override_id: int, now: datetime
) -> None:
    override = session.get(ScheduleOverride, override_id)
    if override is None or override.schedule_id != schedule_id:
        raise NotFound(f"override {override_id} does not exist in schedule {schedule_id}")
    session.delete(override)
    session.flush()
    touch(session, schedule_id=schedule_id, now=now)
    _audit(
        session, actor, "schedule.override_delete", schedule_id, now, {"override_id": override_id}
    )
