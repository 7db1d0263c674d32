"""REST API: schedules, layers, rotations, overrides and swaps.

Viewers read everything; editors change the schedules of their teams; admins
change anything. ``router`` also includes the routes of ``api_reports`` (who is on
call, shifts, quality) and ``api_ical`` (iCal import and export).
"""

from __future__ import annotations

from fastapi import APIRouter, status

from watchkeeper.api.deps import CurrentPrincipal, NowDep, SessionDep
from watchkeeper.schedules import api_ical, api_reports, calendars, swaps
from watchkeeper.schedules import service as svc
from watchkeeper.schedules.models import Schedule, ScheduleLayer
from watchkeeper.schedules.schemas import (
    LayerCreate,
    LayerOut,
    LayerUpdate,
    OverrideCreate,
    OverrideOut,
    RotationIn,
    RotationOut,
    ScheduleCreate,
    ScheduleOut,
    ScheduleUpdate,
    SwapCreate,
    SwapOut,
    SwapStatus,
)

schedules_router = APIRouter(prefix="/api/v1", tags=["schedules"])
router = APIRouter()


def layer_out(layer: ScheduleLayer) -> LayerOut:
    return LayerOut(
        id=layer.id,
        schedule_id=layer.schedule_id,
        name=layer.name,
        position=layer.position,
        rotations=[RotationOut.model_validate(r) for r in layer.rotations],
    )


def schedule_out(schedule: Schedule) -> ScheduleOut:
    return ScheduleOut(
        id=schedule.id,
        name=schedule.name,
        time_zone=schedule.time_zone,
        team_id=schedule.team_id,
        version=schedule.version,
        created_at=schedule.created_at,
        updated_at=schedule.updated_at,
        layers=[layer_out(layer) for layer in schedule.layers],
        calendars=[
            api_ical.calendar_out(c) for c in sorted(schedule.calendars, key=lambda c: c.kind)
        ],
        warnings=calendars.warnings(schedule),
    )


def _editable(session: SessionDep, principal: CurrentPrincipal, schedule_id: int) -> Schedule:
    schedule = svc.get_schedule(session, schedule_id=schedule_id)
    principal.require_team_editor(schedule.team_id)
    return schedule


# -- schedules ---------------------------------------------------------------


@schedules_router.get("/schedules", summary="List schedules")
def list_schedules(
    session: SessionDep, principal: CurrentPrincipal, team_id: int | None = None
) -> dict[str, list[ScheduleOut]]:
    return {"items": [schedule_out(s) for s in svc.list_schedules(session, team_id=team_id)]}


@schedules_router.post(
    "/schedules",
    response_model=ScheduleOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a schedule",
)
def create_schedule(
    body: ScheduleCreate, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> ScheduleOut:
    principal.require_team_editor(body.team_id)
    return schedule_out(svc.create_schedule(session, actor=principal, data=body, now=now))


@schedules_router.get(
    "/schedules/{schedule_id}", response_model=ScheduleOut, summary="One schedule"
)
def get_schedule(schedule_id: int, session: SessionDep, principal: CurrentPrincipal) -> ScheduleOut:
    return schedule_out(svc.get_schedule(session, schedule_id=schedule_id))


@schedules_router.patch(
    "/schedules/{schedule_id}", response_model=ScheduleOut, summary="Rename, move or re-zone"
)
def update_schedule(
    schedule_id: int,
    body: ScheduleUpdate,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> ScheduleOut:
    _editable(session, principal, schedule_id)
    if "team_id" in body.model_fields_set:
        principal.require_team_editor(body.team_id)
    svc.update_schedule(session, actor=principal, schedule_id=schedule_id, data=body, now=now)
    return schedule_out(svc.get_schedule(session, schedule_id=schedule_id))


@schedules_router.delete(
    "/schedules/{schedule_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete"
)
def delete_schedule(
    schedule_id: int, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> None:
    _editable(session, principal, schedule_id)
    svc.delete_schedule(session, actor=principal, schedule_id=schedule_id, now=now)


# -- layers and rotations ----------------------------------------------------


@schedules_router.post(
    "/schedules/{schedule_id}/layers",
    response_model=LayerOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add a layer (optionally with rotations); higher positions win",
)
def add_layer(
    schedule_id: int,
    body: LayerCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> LayerOut:
    _editable(session, principal, schedule_id)
    return layer_out(
        svc.add_layer(session, actor=principal, schedule_id=schedule_id, data=body, now=now)
    )


@schedules_router.patch(
    "/schedules/{schedule_id}/layers/{layer_id}", response_model=LayerOut, summary="Change a layer"
)
def update_layer(
    schedule_id: int,
    layer_id: int,
    body: LayerUpdate,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> LayerOut:
    _editable(session, principal, schedule_id)
    layer = svc.update_layer(
        session, actor=principal, schedule_id=schedule_id, layer_id=layer_id, data=body, now=now
    )
    return layer_out(layer)


@schedules_router.delete(
    "/schedules/{schedule_id}/layers/{layer_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a layer and its rotations",
)
def delete_layer(
    schedule_id: int, layer_id: int, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> None:
    _editable(session, principal, schedule_id)
    svc.delete_layer(session, actor=principal, schedule_id=schedule_id, layer_id=layer_id, now=now)


@schedules_router.post(
    "/schedules/{schedule_id}/layers/{layer_id}/rotations",
    response_model=RotationOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add a rotation to a layer",
)
def add_rotation(
    schedule_id: int,
    layer_id: int,
    body: RotationIn,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> RotationOut:
    _editable(session, principal, schedule_id)
    rotation = svc.add_rotation(
        session, actor=principal, schedule_id=schedule_id, layer_id=layer_id, data=body, now=now
    )
    return RotationOut.model_validate(rotation)


@schedules_router.put(
    "/schedules/{schedule_id}/layers/{layer_id}/rotations/{rotation_id}",
    response_model=RotationOut,
    summary="Replace a rotation",
)
def replace_rotation(
    schedule_id: int,
    layer_id: int,
    rotation_id: int,
    body: RotationIn,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> RotationOut:
    _editable(session, principal, schedule_id)
    rotation = svc.replace_rotation(
        session,
        actor=principal,
        schedule_id=schedule_id,
        layer_id=layer_id,
        rotation_id=rotation_id,
        data=body,
        now=now,
    )
    return RotationOut.model_validate(rotation)


@schedules_router.delete(
    "/schedules/{schedule_id}/layers/{layer_id}/rotations/{rotation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a rotation",
)
def delete_rotation(
    schedule_id: int,
    layer_id: int,
    rotation_id: int,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> None:
    _editable(session, principal, schedule_id)
    svc.delete_rotation(
        session,
        actor=principal,
        schedule_id=schedule_id,
        layer_id=layer_id,
        rotation_id=rotation_id,
        now=now,
    )


# -- overrides ---------------------------------------------------------------


@schedules_router.get("/schedules/{schedule_id}/overrides", summary="Overrides overlapping a range")
def list_overrides(
    schedule_id: int,
    session: SessionDep,
    principal: CurrentPrincipal,
    start: api_reports.Instant = None,
    end: api_reports.Instant = None,
) -> dict[str, list[OverrideOut]]:
    rows = svc.list_overrides(
        session,
        schedule_id=schedule_id,
        start=api_reports.aware(start) if start else None,
        end=api_reports.aware(end) if end else None,
    )
    return {"items": [OverrideOut.model_validate(o) for o in rows]}


@schedules_router.post(
    "/schedules/{schedule_id}/overrides",
    response_model=OverrideOut,
    status_code=status.HTTP_201_CREATED,
    summary="Put someone else (or nobody) on call for a span; overrides beat every layer",
)
def add_override(
    schedule_id: int,
    body: OverrideCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> OverrideOut:
    _editable(session, principal, schedule_id)
    override = svc.add_override(
        session, actor=principal, schedule_id=schedule_id, data=body, now=now
    )
    return OverrideOut.model_validate(override)


@schedules_router.delete(
    "/schedules/{schedule_id}/overrides/{override_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an override",
)
def delete_override(
    schedule_id: int,
    override_id: int,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> None:
    _editable(session, principal, schedule_id)
    svc.delete_override(
        session, actor=principal, schedule_id=schedule_id, override_id=override_id, now=now
    )


# -- swaps -------------------------------------------------------------------


@schedules_router.get("/schedules/{schedule_id}/swaps", summary="Swap requests")
def list_swaps(
    schedule_id: int,
    session: SessionDep,
    principal: CurrentPrincipal,
    status: SwapStatus | None = None,
) -> dict[str, list[SwapOut]]:
    rows = swaps.list_swaps(session, schedule_id=schedule_id, status=status)
    return {"items": [SwapOut.model_validate(s) for s in rows]}


@schedules_router.post(
    "/schedules/{schedule_id}/swaps",
    response_model=SwapOut,
    status_code=201,
    summary="Offer part of your own shift for a teammate to take",
)
def request_swap(
    schedule_id: int,
    body: SwapCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> SwapOut:
    swap = swaps.request_swap(session, actor=principal, schedule_id=schedule_id, data=body, now=now)
    return SwapOut.model_validate(swap)


@schedules_router.post(
    "/schedules/{schedule_id}/swaps/{swap_id}/take",
    response_model=SwapOut,
    summary="Take an open swap: overrides put you on call instead of the requester",
)
def take_swap(
    schedule_id: int, swap_id: int, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> SwapOut:
    swap = swaps.take_swap(
        session, actor=principal, schedule_id=schedule_id, swap_id=swap_id, now=now
    )
    return SwapOut.model_validate(swap)


@schedules_router.post(
    "/schedules/{schedule_id}/swaps/{swap_id}/cancel",
    response_model=SwapOut,
    summary="Withdraw an open swap request",
)
def cancel_swap(
    schedule_id: int, swap_id: int, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> SwapOut:
    swap = swaps.cancel_swap(
        session, actor=principal, schedule_id=schedule_id, swap_id=swap_id, now=now
    )
    return SwapOut.model_validate(swap)


router.include_router(schedules_router)
router.include_router(api_reports.router)
router.include_router(api_ical.router)
router.include_router(api_ical.feeds_router)
