"""Bodies of the post-incident review and action item API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from watchkeeper.incidents.schemas import (
    IncidentOut,
    ParticipantOut,
    check_url,
    non_blank,
    optional_non_blank,
)

Priority = Literal["P0", "P1", "P2", "P3"]
ActionStatus = Literal["open", "in_progress", "done", "wont_do"]
ReviewStatus = Literal["draft", "in_review", "complete"]
# Categories name kinds of conditions, never people: a review that finds
# "human error" has stopped looking. Wording after Etsy's and Google's guides.
FactorCategory = Literal[
    "change",
    "configuration",
    "software_defect",
    "capacity",
    "dependency",
    "infrastructure",
    "monitoring_gap",
    "process",
    "communication",
    "knowledge",
    "other",
]


class ContributingFactor(BaseModel):
    category: FactorCategory
    description: str = Field(max_length=10000)

    _description = field_validator("description")(non_blank)


class ReviewTimelineItem(BaseModel):
    at: datetime
    text: str = Field(max_length=10000)
    entry_id: int | None = Field(default=None, description="the incident timeline entry, if any")

    _text = field_validator("text")(non_blank)


class ReviewPatch(BaseModel):
    """Change some sections; ``version`` must be the one you read."""

    version: int = Field(ge=1, description="the review version this edit is based on")
    status: ReviewStatus | None = None
    summary: str | None = Field(default=None, max_length=50000)
    customer_impact: str | None = Field(default=None, max_length=50000)
    impact_start: datetime | None = None
    impact_end: datetime | None = None
    timeline: list[ReviewTimelineItem] | None = Field(default=None, max_length=1000)
    contributing_factors: list[ContributingFactor] | None = Field(default=None, max_length=100)
    what_went_well: str | None = Field(default=None, max_length=50000)
    where_we_got_lucky: str | None = Field(default=None, max_length=50000)
    what_could_be_improved: str | None = Field(default=None, max_length=50000)

    @model_validator(mode="after")
    def _impact_order(self) -> ReviewPatch:
        if self.impact_start and self.impact_end and self.impact_end < self.impact_start:
            raise ValueError("impact_end must not be before impact_start")
        return self


class ReviewPut(ReviewPatch):
    """Replace the whole review; sections left out become empty."""

    status: ReviewStatus = "draft"
    summary: str = Field(default="", max_length=50000)
    customer_impact: str = Field(default="", max_length=50000)
    contributing_factors: list[ContributingFactor] = Field(default_factory=list, max_length=100)
    what_went_well: str = Field(default="", max_length=50000)
    where_we_got_lucky: str = Field(default="", max_length=50000)
    what_could_be_improved: str = Field(default="", max_length=50000)


class ActionItemCreate(BaseModel):
    title: str = Field(max_length=300)
    owner_id: int | None = None
    priority: Priority = "P2"
    due_date: date | None = None
    status: ActionStatus = "open"
    tracker_url: str | None = Field(default=None, max_length=2000)

    _title = field_validator("title")(non_blank)
    _url = field_validator("tracker_url")(check_url)


class ActionItemUpdate(BaseModel):
    title: str | None = Field(default=None, max_length=300)
    owner_id: int | None = None
    priority: Priority | None = None
    due_date: date | None = None
    status: ActionStatus | None = None
    tracker_url: str | None = Field(default=None, max_length=2000)

    _title = field_validator("title")(optional_non_blank)
    _url = field_validator("tracker_url")(check_url)


class ActionItemOut(BaseModel):
    id: int
    incident_id: int
    incident_title: str
    title: str
    owner_id: int | None
    owner_name: str | None
    priority: Priority
    due_date: date | None
    status: ActionStatus
    tracker_url: str | None
    created_at: datetime
    updated_at: datetime
    done_at: datetime | None
    overdue: bool


class ReviewOut(BaseModel):
    incident_id: int
    version: int
    status: ReviewStatus
    summary: str
    customer_impact: str
    impact_start: datetime | None
    impact_end: datetime | None
    timeline: list[ReviewTimelineItem]
    timeline_prefilled: bool = Field(description="true while the timeline follows key moments")
    contributing_factors: list[ContributingFactor]
    what_went_well: str
    where_we_got_lucky: str
    what_could_be_improved: str
    action_items: list[ActionItemOut]
    responders: list[ParticipantOut]
    due_at: datetime | None
    updated_at: datetime
    updated_by: str


class ReviewDocument(BaseModel):
    """The review with its incident: what the Markdown and JSON exports hold."""

    incident: IncidentOut
    review: ReviewOut
