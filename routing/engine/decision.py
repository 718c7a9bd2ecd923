"""The engine's output: a routing decision and the trace that explains it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields, is_dataclass
from functools import cache
from typing import Any

STAGES = ("rule", "embedding", "llm", "fallback", "cache")
LLM_REASONS = ("ambiguous", "negation", "language")


@dataclass(slots=True)
class StageTiming:
    stage: str  # "rules", "encode", "embedding", "llm", "complexity", "tier_policy", "cache"
    micros: int
    outcome: str = ""  # short human-readable result of the stage ("matched rule 3", "timeout", ...)


@dataclass(slots=True)
class IntentScore:
    intent: str
    score: float
    threshold: float


@dataclass(slots=True)
class NearestExample:
    intent: str
    text: str
    similarity: float


@dataclass(slots=True)
class MessagePart:
    """One part of a message split into several requests, as the embedding stage scored it."""

    text: str
    intent: str | None
    confidence: float


@dataclass(slots=True)
class SecondaryIntent:
    intent: str
    confidence: float
    text: str  # the part of the message that asks for it


@dataclass(slots=True)
class TierPrediction:
    """The quality predictor's view of one tier below the best (routing/engine/quality.py)."""

    tier: str
    probability: float  # calibrated: its answer is as good as the best tier's
    threshold: float | None  # what it had to reach for the quality target; None: never
    good_enough: bool


@dataclass(slots=True)
class Trace:
    stages: list[StageTiming] = field(default_factory=list)
    top_intents: list[IntentScore] = field(default_factory=list)  # best 5, best first
    nearest_examples: list[NearestExample] = field(default_factory=list)
    matched_rules: list[int] = field(default_factory=list)  # RuleSpec ids
    fallback_reason: str = ""
    # In-domain gate: cosine similarity of the query to the predicted intent's centroid, and the
    # floor it had to reach (None when the embedding stage did not run).
    similarity: float | None = None
    similarity_floor: float | None = None
    notes: list[str] = field(default_factory=list)
    # Hard queries (routing/engine/hard_queries.py).
    parts: list[MessagePart] = field(default_factory=list)  # only when the message was split
    secondary_intents: list[SecondaryIntent] = field(default_factory=list)
    negated: list[str] = field(default_factory=list)  # intents the query rules out
    # Why the LLM stage was asked (a stable key for rollups): LLM_REASONS, "" when it was not.
    llm_reason: str = ""
    # Outcome-learned tier routing: one entry per tier below the best (empty when it is off).
    tier_predictions: list[TierPrediction] = field(default_factory=list)

    def timed(self, stage: str) -> StageClock:
        """Time a stage: `with trace.timed("rules") as clock: ...; clock.outcome = "no match"`.

        On leaving the block the stage's timing and outcome are appended to `stages`.
        """
        return StageClock(self, stage)


class StageClock:
    """The context manager behind `Trace.timed` (a class, not a generator: it is on the hot path)."""

    __slots__ = ("outcome", "_stage", "_start_ns", "_trace")

    def __init__(self, trace: Trace, stage: str):
        self._trace = trace
        self._stage = stage
        self.outcome = ""

    def __enter__(self) -> StageClock:
        self._start_ns = time.perf_counter_ns()
        return self

    def __exit__(self, *exc_info) -> None:
        micros = (time.perf_counter_ns() - self._start_ns) // 1000
        self._trace.stages.append(StageTiming(self._stage, micros, self.outcome))


@dataclass(slots=True)
class Decision:
    intent: str | None  # None: out of scope ("no intent") or blocked
    handler: str | None
    confidence: float
    calibrated: bool
    stage: str  # one of STAGES
    complexity: str  # one of snapshot.COMPLEXITY_LEVELS
    tier: str | None
    model: str | None
    provider: str | None
    estimated_cost_usd: float
    baseline_cost_usd: float  # same query on the most expensive enabled tier
    latency_ms: float
    router_version: int
    policy_digest: str = ""  # short hash of the Policy that made this decision
    blocked: bool = False
    block_reason: str = ""
    cached: bool = False
    language: str = ""  # ISO 639-1 when the policy detects languages, "" otherwise
    trace: Trace = field(default_factory=Trace)

    @property
    def secondary_intents(self) -> list[SecondaryIntent]:
        """Other intents the message asks for besides `intent` (kept in the trace)."""
        return self.trace.secondary_intents


_SCALARS = frozenset({str, int, float, bool, type(None)})


@cache
def _field_names(cls: type) -> tuple[str, ...] | None:
    return tuple(item.name for item in fields(cls)) if is_dataclass(cls) else None


def plain(value: Any) -> Any:
    """Dataclasses to dicts, like dataclasses.asdict but without its deep copies (several times faster)."""
    cls = type(value)
    if cls in _SCALARS:
        return value
    names = _field_names(cls)
    if names is not None:
        return {name: plain(getattr(value, name)) for name in names}
    if cls is list or cls is tuple:
        return [plain(item) for item in value]
    if cls is dict:
        return {key: plain(item) for key, item in value.items()}
    return value
