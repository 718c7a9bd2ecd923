"""Request and response schemas of the routing API (separate In/Out; never every model field)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from ninja import Field, Schema
from pydantic import ConfigDict

from routing.engine.decision import Decision

IDENTIFIER_CHARS = 200
MAX_BATCH = 256


class ErrorBody(Schema):
    code: str
    message: str
    details: Any = None


class ErrorOut(Schema):
    """The one error shape of the whole API."""

    error: ErrorBody


ERROR_RESPONSES = {status: ErrorOut for status in (400, 401, 403, 404, 413, 422, 429, 503)}


class RouteIn(Schema):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(
        ..., min_length=1, description="The user's query; the length limit is configurable."
    )
    user_id: str | None = Field(None, max_length=IDENTIFIER_CHARS)
    session_id: str | None = Field(None, max_length=IDENTIFIER_CHARS)
    metadata: dict[str, Any] | None = None
    explain: bool = False


class RouteBatchIn(Schema):
    model_config = ConfigDict(extra="forbid")

    queries: list[str] = Field(..., min_length=1, max_length=MAX_BATCH)
    user_id: str | None = Field(None, max_length=IDENTIFIER_CHARS)
    session_id: str | None = Field(None, max_length=IDENTIFIER_CHARS)
    metadata: dict[str, Any] | None = None
    explain: bool = False


class StageTimingOut(Schema):
    stage: str
    micros: int
    outcome: str


class IntentScoreOut(Schema):
    intent: str
    score: float
    threshold: float


class NearestExampleOut(Schema):
    intent: str
    text: str
    similarity: float


class TraceOut(Schema):
    stages: list[StageTimingOut]
    top_intents: list[IntentScoreOut]
    nearest_examples: list[NearestExampleOut]
    matched_rules: list[int]
    fallback_reason: str
    notes: list[str]


class DecisionOut(Schema):
    decision_id: uuid.UUID
    router: str
    router_version: int
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
    cached: bool
    blocked: bool
    block_reason: str
    latency_ms: float
    trace: TraceOut | None = Field(None, description="Only with explain=true.")

    @classmethod
    def from_decision(
        cls, *, decision_id: uuid.UUID, router_slug: str, decision: Decision, explain: bool
    ) -> dict[str, Any]:
        # Attribute access, not Decision.to_dict(): ninja serialises the trace dataclasses itself.
        fields = {
            name: getattr(decision, name) for name in cls.model_fields if hasattr(decision, name)
        }
        fields.update(
            decision_id=decision_id, router=router_slug, trace=decision.trace if explain else None
        )
        return fields


class RouteBatchOut(Schema):
    decisions: list[DecisionOut]


class RouterOut(Schema):
    slug: str
    name: str
    description: str
    version: int
    updated_at: datetime


class ConfigProblemOut(Schema):
    field: str
    message: str


class ConfigApplyOut(Schema):
    router: str
    applied: bool
    dry_run: bool
    version: int | None
    changes: list[str]
    problems: list[ConfigProblemOut]
