"""Review edits with optimistic concurrency, and action items."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from watchkeeper.errors import Conflict, Invalid, NotFound
from watchkeeper.identity.principal import Principal
from watchkeeper.incidents import links, service
from watchkeeper.incidents.models import ActionItem, Incident, Review
from watchkeeper.incidents.review_schemas import (
    ActionItemCreate,
    ActionItemUpdate,
    ReviewPatch,
    ReviewPut,
)

OPEN_ITEM_STATES = ("open", "in_progress")


def get_review(session: Session, *, incident_id: int) -> Review:
    row = session.get(Review, incident_id)
    if row is None:
        raise NotFound(f"incident {incident_id} does not exist")
    return row


def save_review(
    session: Session,
    *,
    actor: Principal,
    incident: Incident,
    data: ReviewPatch,
    now: datetime,
) -> Review:
    """Apply an edit made on ``data.version``; a stale version is refused, not merged.

    The compare-and-set is one UPDATE ... WHERE version = :read, so of two
    editors who read the same version exactly one wins, on PostgreSQL as on
    SQLite. The loser gets 409 and keeps their text to merge and resend.
    """
    replace = isinstance(data, ReviewPut)
    fields = set(ReviewPut.model_fields) if replace else set(data.model_fields_set)
    values: dict[str, Any] = {}
    for name in fields - {"version"}:
        value = getattr(data, name)
        if name == "timeline":
            value = None if value is None else [t.model_dump(mode="json") for t in value]
        elif name == "contributing_factors":
            value = [f.model_dump(mode="json") for f in value or []]
        elif value is None and name not in ("impact_start", "impact_end"):
            raise Invalid(f"{name} cannot be null")
        values[name] = value
    current = get_review(session, incident_id=incident.id)
    start = values.get("impact_start", current.impact_start)
    end = values.get("impact_end", current.impact_end)
    if start and end and end < start:
        raise Invalid("impact_end must not be before impact_start")
    if current.version != data.version:
        raise _stale(current, data.version)
    done = session.execute(
        update(Review)
        .where(Review.incident_id == incident.id, Review.version == data.version)
        .values(**values, version=data.version + 1, updated_at=now, updated_by=actor.name)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(current)
        raise _stale(current, data.version)
    session.refresh(current)
    if "impact_end" in values:
        links.refresh_metrics(session, incident)
    return current


def _stale(current: Review, read: int) -> Conflict:
    return Conflict(
        f"the review changed since you read it: you edited version {read}, but "
        f"{current.updated_by or 'someone'} saved version {current.version} at "
        f"{current.updated_at.isoformat()}. Nothing was overwritten and your edit was not "
        "saved; reload the review, merge your changes and send them with the new version."
    )


def _check_owner(session: Session, owner_id: int | None) -> None:
    if owner_id is not None:
        service.check_user(session, owner_id, "action item owner")


def get_item(session: Session, *, item_id: int) -> ActionItem:
    item = session.get(ActionItem, item_id)
    if item is None:
        raise NotFound(f"action item {item_id} does not exist")
    return item


def create_item(
    session: Session, *, incident: Incident, data: ActionItemCreate, now: datetime
) -> ActionItem:
    _check_owner(session, data.owner_id)
    item = ActionItem(
        incident_id=incident.id,
        title=data.title,
        owner_id=data.owner_id,
        priority=data.priority,
        due_date=data.due_date,
        status=data.status,
        tracker_url=data.tracker_url,
        created_at=now,
        updated_at=now,
        done_at=now if data.status in ("done", "wont_do") else None,
    )
    session.add(item)
    session.flush()
    return item


def update_item(
    session: Session, *, item: ActionItem, data: ActionItemUpdate, now: datetime
) -> ActionItem:
    changes = data.model_dump(exclude_unset=True)
    for name in ("title", "priority", "status"):
        if name in changes and changes[name] is None:
            raise Invalid(f"{name} cannot be null")
    if "owner_id" in changes:
        _check_owner(session, changes["owner_id"])
    if "status" in changes and changes["status"] != item.status:
        item.done_at = now if changes["status"] in ("done", "wont_do") else None
    for name, value in changes.items():
        setattr(item, name, value)
    item.updated_at = now
    session.flush()
    return item


def list_items(session: Session, *, incident_id: int) -> Sequence[ActionItem]:
    return session.scalars(
        select(ActionItem).where(ActionItem.incident_id == incident_id).order_by(ActionItem.id)
    ).all()


def overdue_items(
    session: Session, *, today: date, team_id: int | None = None
) -> Sequence[ActionItem]:
    """Open items past their due date, most urgent first; by the incident's team."""
    query = (
        select(ActionItem)
        .join(Incident, Incident.id == ActionItem.incident_id)
        .where(ActionItem.status.in_(OPEN_ITEM_STATES), ActionItem.due_date < today)
        .order_by(ActionItem.priority, ActionItem.due_date, ActionItem.id)
    )
    if team_id is not None:
        query = query.where(Incident.team_id == team_id)
    return session.scalars(query).all()


def items_of_owner(
    session: Session, *, owner_id: int, include_closed: bool = False
) -> Sequence[ActionItem]:
    """One person's action items, overdue and soonest due first."""
    query = select(ActionItem).where(ActionItem.owner_id == owner_id)
    if not include_closed:
        query = query.where(ActionItem.status.in_(OPEN_ITEM_STATES))
    # NULL due dates last on both databases: sort by "has no due date" first.
    query = query.order_by(
        ActionItem.due_date.is_(None), ActionItem.due_date, ActionItem.priority, ActionItem.id
    )
    return session.scalars(query).all()
