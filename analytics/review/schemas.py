"""Request and response schemas of the review API (labelling tools)."""

from __future__ import annotations

import uuid
from typing import Literal

from ninja import Field, Schema
from pydantic import ConfigDict

from analytics.review.models import ReviewItem, ReviewReason, ReviewStatus
from routing.schemas import bounded_text

StatusFilter = Literal[tuple([*ReviewStatus.values, "all"])]
ReasonFilter = Literal[tuple(ReviewReason.values)]


class ReviewFilters(Schema):
    status: StatusFilter = "open"
    reason: ReasonFilter | None = None
    cursor: int | None = Field(
        None, ge=1, le=2**63 - 1, description="The `next` of the previous page."
    )
    limit: int = Field(50, ge=1, le=200)


class ReviewItemOut(Schema):
    id: int
    decision_id: uuid.UUID
    query: str
    reasons: list[str]
    decided_intent: str | None
    suggested_intent: str | None
    status: str
    count: int
    reviewed_intent: str | None = Field(None, description="The label; null: out of scope.")

    @staticmethod
    def resolve_reviewed_intent(item: ReviewItem) -> str | None:
        return item.reviewed_intent


class ReviewPageOut(Schema):
    items: list[ReviewItemOut]
    next: int | None = Field(None, description="Pass as ?cursor= for the next page.")


class ResolveIn(Schema):
    model_config = ConfigDict(extra="forbid")

    action: Literal["confirm", "relabel", "out_of_scope", "add_example", "dismiss"]
    intent: bounded_text(64) | None = Field(
        None, description="The right intent; required by relabel and add_example."
    )


class ResolveOut(ReviewItemOut):
    router_version: int | None = Field(
        None, description="The new router version add_example made (null: none was made)."
    )
