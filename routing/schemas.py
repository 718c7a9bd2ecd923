"""Request and response schemas of the routing API (separate In/Out; never every model field)."""

from __future__ import annotations

import math
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import AfterValidator, BeforeValidator, ConfigDict, StrictBool, StringConstraints
from pydantic_core import PydanticCustomError

from routing.engine.decision import Decision
from routing.engine.rules import MAX_EARLIER_TURNS
from routing.retrieved_context import ContextIn

IDENTIFIER_CHARS = 200
MAX_BATCH = 256
METADATA_MAX_BYTES = 16 * 1024
METADATA_MAX_DEPTH = 16
MAX_UTC_OFFSET = timedelta(hours=14)  # the widest offset in use; PostgreSQL refuses past 15:59

# Input types ------------------------------------------------------------------------------------
# JSON allows NUL and lone surrogates ("\u0000", "\ud800") in strings; PostgreSQL stores neither, so
# every text field refuses them here, at the edge, instead of failing the decision log's write.

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _unstorable_reason(text: str) -> str | None:
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    what = "a NUL character" if found.group() == "\x00" else "a lone surrogate"
    return f"must not contain {what} (at character {found.start()})"


def _storable(text: str) -> str:
    reason = _unstorable_reason(text)
    if reason is not None:
        raise PydanticCustomError("unstorable_text", reason)
    return text


def _query_text(text: str) -> str:
    if text.isspace():
        raise PydanticCustomError("blank_query", "must contain more than whitespace")
    return _storable(text)


class _MetadataProblem(Exception):
    def __init__(self, reason: str, *, whole: bool = False) -> None:
        self.reason = reason
        self.whole = whole  # about the whole value (its size): no path to name
        self.path: list[str] = []  # innermost first, filled in while unwinding


def _printable(key: object) -> str:
    # The error names the key, so it must itself be encodable: NUL and surrogates as \uXXXX.
    return _UNSTORABLE.sub(lambda found: f"\\u{ord(found.group()):04x}", str(key))


def _metadata_size(value: Any, depth: int) -> int:
    """Bytes of compact UTF-8 JSON (escapes aside), refusing what cannot be stored; one pass."""
    kind = type(value)
    if kind is str:
        reason = _unstorable_reason(value)
        if reason is not None:
            raise _MetadataProblem(reason)
        return (len(value) if value.isascii() else len(value.encode())) + 2
    if kind is float:
        if not math.isfinite(value):
            raise _MetadataProblem("must be a finite number (NaN and Infinity are not JSON)")
        return len(repr(value))
    if kind is not dict and kind is not list:
        return len(str(value))  # int, bool, None: the rest of what json.loads makes
    if depth >= METADATA_MAX_DEPTH:
        raise _MetadataProblem(f"nests deeper than {METADATA_MAX_DEPTH} levels")
    size = 2 + max(len(value) - 1, 0)
    items = value.items() if kind is dict else enumerate(value)
    for key, item in items:
        try:
            if kind is dict:
                reason = _unstorable_reason(key)
                if reason is not None:
                    raise _MetadataProblem(f"key {reason}")
                size += len(key.encode()) + 3
            size += _metadata_size(item, depth + 1)
        except _MetadataProblem as problem:
            if not problem.whole:
                problem.path.append(_printable(key))
            raise
        if size > METADATA_MAX_BYTES:
            raise _MetadataProblem(
                f"is larger than {METADATA_MAX_BYTES} bytes serialized", whole=True
            )
    return size


def _metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    if not metadata:
        return metadata
    try:
        _metadata_size(metadata, 0)
    except _MetadataProblem as problem:
        # ctx["subpath"] lets the error handler name the nested field (metadata.user.name).
        subpath = ".".join(reversed(problem.path))
        raise PydanticCustomError(
            "invalid_metadata", "{reason}", {"reason": problem.reason, "subpath": subpath}
        ) from None
    return metadata


def _iso_datetime(value: Any) -> Any:
    """ISO 8601 only (no Unix timestamps), an offset PostgreSQL accepts, naive read as UTC."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError(
                "iso_datetime",
                "must be an ISO 8601 date-time such as 2026-12-01T09:30:00Z (send + as %2B)",
            ) from None
    else:
        raise PydanticCustomError("iso_datetime", "must be an ISO 8601 date-time string")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if abs(parsed.utcoffset()) > MAX_UTC_OFFSET:
        raise PydanticCustomError("iso_datetime", "the UTC offset must be within -14:00..+14:00")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError("iso_datetime", "must be within the years 1 to 9999") from None


Identifier = Annotated[
    str, StringConstraints(max_length=IDENTIFIER_CHARS), AfterValidator(_storable)
]
QueryText = Annotated[str, StringConstraints(min_length=1), AfterValidator(_query_text)]
Metadata = Annotated[dict[str, Any], AfterValidator(_metadata)]
ISODateTime = Annotated[datetime, BeforeValidator(_iso_datetime)]


def bounded_text(max_length: int) -> Any:
    """A storable string of at most max_length characters (the column's size)."""
    return Annotated[str, StringConstraints(max_length=max_length), AfterValidator(_storable)]


class ErrorBody(Schema):
    code: str
    message: str
    details: Any = None


class ErrorOut(Schema):
    """The one error shape of the whole API."""

    error: ErrorBody


# 409: the router's configuration cannot be compiled; 503: a service or the encoder is not ready.
ERROR_RESPONSES = {status: ErrorOut for status in (400, 401, 403, 404, 409, 413, 422, 429, 503)}


class RouteIn(Schema):
    model_config = ConfigDict(extra="forbid")

    query: QueryText = Field(
        ..., description="The user's query; the length limit is configurable (413 above it)."
    )
    user_id: Identifier | None = None
    session_id: Identifier | None = None
    metadata: Metadata | None = Field(
        None, description=f"Any JSON object up to {METADATA_MAX_BYTES} bytes serialized."
    )
    explain: StrictBool = False
    context: ContextIn | None = Field(
        None, description="Retrieved context: raises complexity, counts in the cost estimate."
    )
    earlier_turns: list[QueryText] = Field(
        [],
        max_length=MAX_EARLIER_TURNS,
        description="The conversation's user messages before `query`, oldest first: rules with "
        "scope 'conversation' search them too (each within the query length limit).",
    )


class RouteBatchIn(Schema):
    model_config = ConfigDict(extra="forbid")

    queries: list[QueryText] = Field(..., min_length=1, max_length=MAX_BATCH)
    user_id: Identifier | None = None
    session_id: Identifier | None = None
    metadata: Metadata | None = Field(
        None, description=f"Any JSON object up to {METADATA_MAX_BYTES} bytes serialized."
    )
    explain: StrictBool = False
    context: ContextIn | list[ContextIn | None] | None = Field(
        None, description="One retrieved context for every query, or a list with one per query."
    )


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


class MessagePartOut(Schema):
    text: str
    intent: str | None
    confidence: float


class SecondaryIntentOut(Schema):
    intent: str
    confidence: float
    text: str = Field(description="The part of the message that asks for it.")


class TierPredictionOut(Schema):
    tier: str
    probability: float
    threshold: float | None
    good_enough: bool


class TraceOut(Schema):
    """Every field of the engine's Trace (tests/api/test_decision_fields.py keeps them equal)."""

    stages: list[StageTimingOut]
    top_intents: list[IntentScoreOut]
    nearest_examples: list[NearestExampleOut]
    matched_rules: list[int]
    fallback_reason: str
    similarity: float | None = Field(
        None, description="Cosine similarity of the query to the predicted intent's centroid."
    )
    similarity_floor: float | None = Field(
        None, description="The in-domain floor that similarity had to reach."
    )
    notes: list[str]
    parts: list[MessagePartOut] = Field(
        default_factory=list, description="The message's parts, when it was split."
    )
    secondary_intents: list[SecondaryIntentOut] = Field(default_factory=list)
    negated: list[str] = Field(default_factory=list, description="Intents the query rules out.")
    llm_reason: str = Field(
        "", description='Why the LLM stage was asked: "ambiguous", "negation" or "language".'
    )
    tier_predictions: list[TierPredictionOut] = Field(
        [], description="Outcome-learned tiers: each lower tier's probability and threshold."
    )


class DecisionFields(Schema):
    """The decision's public fields: the one list the route API, the log row and the log API share."""

    router_version: int
    policy_digest: str = Field("", description="Short hash of the policy that decided.")
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
    block_reason: str
    language: str = Field(
        "", description="ISO 639-1 code when the policy detects languages; empty otherwise."
    )


# Copied from a Decision onto its DecisionLog row and into every decision the API returns.
DECISION_PUBLIC_FIELDS: tuple[str, ...] = tuple(DecisionFields.model_fields)


class ExperimentRefOut(Schema):
    id: int
    name: str
    arm: str = Field(description="The arm that decided; the control arm is named `control`.")
    assigned_by: str = Field(
        description="The key that chose the arm: user_id, session_id, or request (neither given)."
    )


class DecisionOut(DecisionFields):
    decision_id: uuid.UUID
    router: str
    secondary_intents: list[SecondaryIntentOut] = Field(
        default_factory=list, description="Other intents the message asks for (split_intents)."
    )
    experiment: ExperimentRefOut | None = Field(
        None, description="The router's running experiment and this caller's arm; null when none."
    )
    trace: TraceOut | None = Field(None, description="Only with explain=true.")

    @staticmethod
    def from_decision(
        *,
        decision_id: uuid.UUID,
        router_slug: str,
        decision: Decision,
        explain: bool,
        experiment: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        # Attribute access, not Decision.to_dict(): ninja serialises the trace dataclasses itself.
        fields = {name: getattr(decision, name) for name in DECISION_PUBLIC_FIELDS}
        fields.update(
            decision_id=decision_id,
            router=router_slug,
            secondary_intents=decision.secondary_intents,
            experiment=experiment,
            trace=decision.trace if explain else None,
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
