"""The post-incident review editor: sections, contributing factors and action items."""

from __future__ import annotations

import typing
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select

from watchkeeper.errors import Invalid
from watchkeeper.identity.models import User
from watchkeeper.incidents import review_service, service
from watchkeeper.incidents.review_schemas import (
    ActionItemCreate,
    ContributingFactor,
    FactorCategory,
    ReviewPatch,
)
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
CATEGORIES = typing.get_args(FactorCategory)


@router.get("/incidents/{incident_id}/review")
def review_page(request: Request, incident_id: int, session: ReadSession, me: Reader) -> Response:
    incident = service.get_incident(session, incident_id=incident_id)
    review = review_service.get_review(session, incident_id=incident_id)
    users = session.scalars(select(User).where(User.is_active.is_(True)).order_by(User.name)).all()
    factors = "\n".join(
        f"{f['category']}: {f['description']}" for f in (review.contributing_factors or [])
    )
    return render(
        request,
        "incidents/review.html",
        me,
        i=incident,
        review=review,
        factors_text=factors,
        categories=CATEGORIES,
        items=review_service.list_items(session, incident_id=incident_id),
        users=users,
    )


def _factors(text: str) -> list[ContributingFactor]:
    """One factor per line, "category: description" (category optional, default "other")."""
    factors = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        category, sep, description = line.partition(":")
        if not sep or category.strip() not in CATEGORIES:
            category, description = "other", line
        try:
            factors.append(
                ContributingFactor(category=category.strip(), description=description.strip())
            )
        except ValidationError as exc:
            raise Invalid(
                f"contributing factors, line {number}: {exc.errors()[0]['msg']}"
            ) from None
    return factors


@router.post("/incidents/{incident_id}/review")
def save_review(
    request: Request,
    incident_id: int,
    version: Annotated[int, Form()],
    summary: Text = "",
    customer_impact: Text = "",
    factors: Text = "",
    what_went_well: Text = "",
    where_we_got_lucky: Text = "",
    what_could_be_improved: Text = "",
    csrf: CsrfField = None,
) -> Response:
    with editing(request, csrf) as (session, me):
        incident = service.get_incident(session, incident_id=incident_id, lock=True)
        service.require_editor(me.principal, incident, None)
        review_service.save_review(
            session,
            actor=me.principal,
            incident=incident,
            data=ReviewPatch(
                version=version,
                summary=summary,
                customer_impact=customer_impact,
                contributing_factors=_factors(factors),
                what_went_well=what_went_well,
                where_we_got_lucky=where_we_got_lucky,
                what_could_be_improved=what_could_be_improved,
            ),
            now=now_of(request),
        )
    flash(request, "Review saved.")
    return redirect(f"/incidents/{incident_id}/review")


@router.post("/incidents/{incident_id}/review/action-items")
def add_action_item(
    request: Request,
    incident_id: int,
    title: Text,
    priority: Text = "P2",
    owner_id: Annotated[str, Form()] = "",
    due_date: Annotated[str, Form()] = "",
    csrf: CsrfField = None,
) -> Response:
    try:
        data = ActionItemCreate(
            title=title,
            priority=priority,
            owner_id=int(owner_id) if owner_id else None,
            due_date=date.fromisoformat(due_date) if due_date else None,
        )
    except (ValidationError, ValueError) as exc:
        raise Invalid(f"action item: {exc}") from None
    with editing(request, csrf) as (session, me):
        incident = service.get_incident(session, incident_id=incident_id, lock=True)
        service.require_editor(me.principal, incident, None)
        review_service.create_item(session, incident=incident, data=data, now=now_of(request))
    flash(request, "Action item added.")
    return redirect(f"/incidents/{incident_id}/review")
