"""Schedule changes from forms: create with a rotation, overrides, swap requests."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from watchkeeper.errors import Invalid
from watchkeeper.schedules import service as svc
from watchkeeper.schedules import swaps
from watchkeeper.schedules.schemas import (
    LayerCreate,
    OverrideCreate,
    RotationIn,
    ScheduleCreate,
    SwapCreate,
)
from watchkeeper.ui.pages.schedules import local_input
from watchkeeper.ui.web import CsrfField, UiRoute, editing, flash, now_of, redirect

router = APIRouter(route_class=UiRoute)
Text = Annotated[str, Form()]
OptionalText = Annotated[str | None, Form()]
Ids = Annotated[list[int], Form()]


@router.post("/schedules")
def create_schedule(
    request: Request,
    name: Text,
    time_zone: Text,
    start: Text,
    shift_count: Annotated[int, Form()] = 1,
    shift_unit: Text = "weeks",
    team: OptionalText = None,
    user_ids: Ids = [],  # noqa: B006 - FastAPI copies form defaults
    csrf: CsrfField = None,
) -> Response:
    team_id = int(team) if team else None
    now = now_of(request)
    with editing(request, csrf) as (session, me):
        me.principal.require_team_editor(team_id)
        schedule = svc.create_schedule(
            session,
            actor=me.principal,
            data=ScheduleCreate(name=name.strip(), time_zone=time_zone, team_id=team_id),
            now=now,
        )
        if user_ids:
            rotation = RotationIn.model_validate(
                {
                    "name": "Rotation",
                    "user_ids": user_ids,
                    "start": local_input(start, schedule.time_zone),
                    "shift_count": shift_count,
                    "shift_unit": shift_unit,
                }
            )
            svc.add_layer(
                session,
                actor=me.principal,
                schedule_id=schedule.id,
                data=LayerCreate(name="Primary", rotations=[rotation]),
                now=now,
            )
    flash(request, f"Created {schedule.name}.")
    return redirect(f"/schedules/{schedule.id}")


@router.post("/schedules/{schedule_id}/overrides")
def add_override(
    request: Request,
    schedule_id: int,
    start: Text,
    end: Text,
    user_ids: Ids = [],  # noqa: B006 - FastAPI copies form defaults
    reason: Text = "",
    csrf: CsrfField = None,
) -> Response:
    with editing(request, csrf) as (session, me):
        schedule = svc.get_schedule(session, schedule_id=schedule_id)
        me.principal.require_team_editor(schedule.team_id)
        data = OverrideCreate(
            start=local_input(start, schedule.time_zone),
            end=local_input(end, schedule.time_zone),
            user_ids=user_ids,
            reason=reason.strip(),
        )
        svc.add_override(
            session, actor=me.principal, schedule_id=schedule_id, data=data, now=now_of(request)
        )
    flash(request, "Override added." if user_ids else "Override added: nobody is on call then.")
    return redirect(f"/schedules/{schedule_id}")


@router.post("/schedules/{schedule_id}/overrides/{override_id}/delete")
def delete_override(
    request: Request, schedule_id: int, override_id: int, csrf: CsrfField = None
) -> Response:
    with editing(request, csrf) as (session, me):
        schedule = svc.get_schedule(session, schedule_id=schedule_id)
        me.principal.require_team_editor(schedule.team_id)
        svc.delete_override(
            session,
            actor=me.principal,
            schedule_id=schedule_id,
            override_id=override_id,
            now=now_of(request),
        )
    flash(request, "Override removed.")
    return redirect(f"/schedules/{schedule_id}")


@router.post("/schedules/{schedule_id}/swaps")
def request_swap(
    request: Request,
    schedule_id: int,
    start: Text,
    end: Text,
    reason: Text = "",
    csrf: CsrfField = None,
) -> Response:
    with editing(request, csrf) as (session, me):
        me.principal.require("editor")
        schedule = svc.get_schedule(session, schedule_id=schedule_id)
        data = SwapCreate(
            start=local_input(start, schedule.time_zone),
            end=local_input(end, schedule.time_zone),
            reason=reason.strip(),
        )
        swaps.request_swap(
            session, actor=me.principal, schedule_id=schedule_id, data=data, now=now_of(request)
        )
    flash(request, "Swap requested: teammates can take it from this page.")
    return redirect(f"/schedules/{schedule_id}")


@router.post("/schedules/{schedule_id}/swaps/{swap_id}/{action}")
def answer_swap(
    request: Request, schedule_id: int, swap_id: int, action: str, csrf: CsrfField = None
) -> Response:
    if action not in ("take", "cancel"):
        raise Invalid("a swap can be taken or cancelled")
    with editing(request, csrf) as (session, me):
        me.principal.require("editor")
        change = swaps.take_swap if action == "take" else swaps.cancel_swap
        change(
            session,
            actor=me.principal,
            schedule_id=schedule_id,
            swap_id=swap_id,
            now=now_of(request),
        )
    flash(
        request,
        "You took the swap: you are on call then." if action == "take" else "Swap cancelled.",
    )
    return redirect(f"/schedules/{schedule_id}")
