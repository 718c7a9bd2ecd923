"""Request and response schemas of the decision log and feedback API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from ninja import Field, Schema
from pydantic import ConfigDict

from analytics.models import DecisionLog


class FeedbackIn(Schema):
    model_config = ConfigDict(extra="forbid")

    rating: Literal["up", "down"]
    comment: str = Field("", max_length=5000)
    expected_intent: str | None = Field(None, max_length=64)


class FeedbackOut(Schema):
    decision_id: uuid.UUID
    rating: str
    comment: str
    expected_intent: str
    created: bool
    created_at: datetime
    updated_at: datetime


class DecisionLogOut(Schema):
    id: uuid.UUID
    router: str
    router_version: int
    query: str
    user_id: str
    session_id: str
    metadata: dict[str, Any]
    intent: str | None
    handler: str | None
    confidence: float
    calibrated: bool
    stage: str
    complexity: str
    tier: str | None
    model: str | None
    provider: str | None
    estimated_cost_usd: float
    baseline_cost_usd: float
    latency_ms: float
    cached: bool
    blocked: bool
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
