"""Request and response schemas of the decision log and feedback API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from ninja import Field, Schema
from pydantic import ConfigDict

from analytics.models import DecisionLog
from routing.schemas import DecisionFields, ISODateTime, bounded_text

INTENT_CHARS = 64  # Intent.name and DecisionLog.intent


class FeedbackIn(Schema):
    model_config = ConfigDict(extra="forbid")

    rating: Literal["up", "down"]
    comment: bounded_text(5000) = ""
    expected_intent: bounded_text(INTENT_CHARS) | None = None


class DecisionFilters(Schema):
    """Query-string filters of GET /decisions, each bounded by the column it is compared with."""

    router: bounded_text(64) | None = None
    intent: bounded_text(INTENT_CHARS) | None = None
    tier: bounded_text(64) | None = None
    stage: bounded_text(16) | None = None
    since: ISODateTime | None = Field(None, description="ISO 8601, e.g. 2026-12-01T09:30:00Z.")
    until: ISODateTime | None = Field(None, description="ISO 8601; exclusive.")
    cursor: bounded_text(400) | None = None
    limit: int = Field(50, ge=1, le=200)


class FeedbackOut(Schema):
    decision_id: uuid.UUID
    rating: str
    comment: str
    expected_intent: str
    created: bool
    created_at: datetime
    updated_at: datetime


class DecisionLogOut(DecisionFields):
    id: uuid.UUID
    router: str
    query: str
    user_id: str
    session_id: str
    metadata: dict[str, Any]
    experiment_arm: str = Field("", description="The experiment arm that decided; empty for now.")
    channel: str
    created_at: datetime

    @staticmethod
    def resolve_router(row: DecisionLog) -> str:
        return row.router.slug

    @staticmethod
    def resolve_user_id(row: DecisionLog) -> str:
        return row.user_ref

    @staticmethod
    def resolve_session_id(row: DecisionLog) -> str:
        return row.session_ref


class DecisionLogDetailOut(DecisionLogOut):
    trace: dict[str, Any]


class DecisionPageOut(Schema):
    items: list[DecisionLogOut]
    next_cursor: str | None = Field(None, description="Pass as ?cursor= for the next (older) page.")
