"""REST API: blameless post-incident reviews, their exports, and action items."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from watchkeeper.api.deps import CurrentPrincipal, NowDep, SessionDep
from watchkeeper.errors import Forbidden
from watchkeeper.identity.principal import Principal
from watchkeeper.incidents import review as export
from watchkeeper.incidents import review_service as reviews
from watchkeeper.incidents import service, views
from watchkeeper.incidents.models import Incident
from watchkeeper.incidents.review_schemas import (
    ActionItemCreate,
    ActionItemOut,
    ActionItemUpdate,
    ReviewDocument,
    ReviewOut,
    ReviewPatch,
    ReviewPut,
)

router = APIRouter()

STALE: dict[int | str, dict[str, Any]] = {
    409: {"description": "the review changed since you read it; reload and merge"}
}


def _editable(session: SessionDep, principal: Principal, incident_id: int) -> Incident:
    incident = service.get_incident(session, incident_id=incident_id, lock=True)
    service.require_editor(principal, incident, None)
    return incident


@router.get(
    "/incidents/{incident_id}/review",
    response_model=ReviewOut,
    tags=["reviews"],
    summary="The post-incident review; send its version back when you edit",
)
def get_review(
    incident_id: int, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> ReviewOut:
    incident = service.get_incident(session, incident_id=incident_id)
    return views.review_document(session, incident, today=now.date()).review


def _save(
    incident_id: int,
    body: ReviewPatch,
    session: SessionDep,
    principal: Principal,
    now: NowDep,
) -> ReviewOut:
    incident = _editable(session, principal, incident_id)
    reviews.save_review(session, actor=principal, incident=incident, data=body, now=now)
    return views.review_document(session, incident, today=now.date()).review


@router.put(
    "/incidents/{incident_id}/review",
    response_model=ReviewOut,
    responses=STALE,
    tags=["reviews"],
    summary="Replace the review (send the version you read; a stale one gets 409)",
)
def put_review(
    incident_id: int, body: ReviewPut, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> ReviewOut:
    return _save(incident_id, body, session, principal, now)


@router.patch(
    "/incidents/{incident_id}/review",
    response_model=ReviewOut,
    responses=STALE,
    tags=["reviews"],
    summary="Change some review sections (send the version you read; a stale one gets 409)",
)
def patch_review(
    incident_id: int,
    body: ReviewPatch,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> ReviewOut:
    return _save(incident_id, body, session, principal, now)


@router.get(
    "/incidents/{incident_id}/review.md",
    response_class=Response,
    responses={200: {"content": {"text/markdown": {}}, "description": "the review as Markdown"}},
    tags=["reviews"],
    summary="Export the review as Markdown",
)
def review_markdown(
    incident_id: int, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> Response:
    incident = service.get_incident(session, incident_id=incident_id)
    doc = views.review_document(session, incident, today=now.date())
    return Response(
        export.to_markdown(doc),
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="INC-{incident_id}-review.md"'},
    )


@router.get(
    "/incidents/{incident_id}/review.json",
    response_model=ReviewDocument,
    tags=["reviews"],
    summary="Export the review with its incident as JSON",
)
def review_json(
    incident_id: int, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> ReviewDocument:
    incident = service.get_incident(session, incident_id=incident_id)
    return views.review_document(session, incident, today=now.date())


@router.get(
    "/incidents/{incident_id}/action-items", tags=["reviews"], summary="An incident's action items"
)
def list_items(
    incident_id: int, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> dict[str, list[ActionItemOut]]:
    service.get_incident(session, incident_id=incident_id)
    items = reviews.list_items(session, incident_id=incident_id)
    return {"items": views.action_items_out(session, items, today=now.date())}


@router.post(
    "/incidents/{incident_id}/action-items",
    response_model=ActionItemOut,
    status_code=status.HTTP_201_CREATED,
    tags=["reviews"],
    summary="Add an action item",
)
def create_item(
    incident_id: int,
    body: ActionItemCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> ActionItemOut:
    incident = _editable(session, principal, incident_id)
    item = reviews.create_item(session, incident=incident, data=body, now=now)
    return views.action_items_out(session, [item], today=now.date())[0]


@router.get(
    "/action-items/overdue",
    tags=["reviews"],
    summary="Open action items past their due date, by the incident's team",
)
def overdue(
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
    team_id: Annotated[int | None, Query(description="only incidents of this team")] = None,
) -> dict[str, list[ActionItemOut]]:
    items = reviews.overdue_items(session, today=now.date(), team_id=team_id)
    return {"items": views.action_items_out(session, items, today=now.date())}


@router.get(
    "/me/action-items", tags=["reviews"], summary="Your action items: overdue and soonest first"
)
def my_items(
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
    include_closed: Annotated[bool, Query(description="also done and won't do")] = False,
) -> dict[str, list[ActionItemOut]]:
    assert principal.id is not None
    items = reviews.items_of_owner(session, owner_id=principal.id, include_closed=include_closed)
    return {"items": views.action_items_out(session, items, today=now.date())}


@router.patch(
    "/action-items/{item_id}",
    response_model=ActionItemOut,
    tags=["reviews"],
    summary="Change an action item (incident editors; owners may change its status)",
)
def update_item(
    item_id: int,
    body: ActionItemUpdate,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> ActionItemOut:
    item = reviews.get_item(session, item_id=item_id)
    incident = service.get_incident(session, incident_id=item.incident_id)
    owner_only = body.model_fields_set <= {"status"} and item.owner_id == principal.id
    if not owner_only:
        try:
            service.require_editor(principal, incident, None)
        except Forbidden as exc:
            raise Forbidden(f"{exc.message}; an item's owner may change only its status") from exc
    reviews.update_item(session, item=item, data=body, now=now)
    return views.action_items_out(session, [item], today=now.date())[0]


@router.delete(
    "/action-items/{item_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["reviews"],
    summary="Delete an action item (prefer status wont_do: it keeps the record)",
)
def delete_item(item_id: int, session: SessionDep, principal: CurrentPrincipal) -> None:
    item = reviews.get_item(session, item_id=item_id)
    incident = service.get_incident(session, incident_id=item.incident_id)
    service.require_editor(principal, incident, None)
    session.delete(item)
