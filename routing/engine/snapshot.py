"""The engine's frozen input: everything one router version needs to route a query.

Django code builds a `RouterSnapshot` from the database (routing/snapshots.py); the engine never
reads the database. Vectors for all examples arrive as one float32 matrix, L2-normalised, made by
the encoder named in `encoder_name`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .quality import QualityHead

CLASSIFICATION_METHODS = ("centroid", "knn", "linear")
KNN_AGGREGATIONS = ("mean", "max", "sum")
COMPLEXITY_LEVELS = ("simple", "moderate", "complex")
RULE_KINDS = ("keyword", "regex")
RULE_ACTIONS = ("route", "min_tier", "block")
# What a rule's pattern is searched in: the routed turn (the conversation's last user message),
# or that turn and the conversation's earlier user turns (any one matching is a match).
RULE_SCOPES = ("query", "conversation")
PROVIDERS = ("openai", "anthropic", "openai-compatible")


@dataclass(frozen=True, slots=True)
class IntentSpec:
    name: str
    handler: str
    description: str = ""
    threshold: float | None = None  # overrides Policy.threshold when set
    min_tier: str | None = None  # name of a TierSpec


@dataclass(frozen=True, slots=True)
class RuleSpec:
    id: int
    kind: str  # one of RULE_KINDS
    pattern: str
    priority: int
    action: str  # one of RULE_ACTIONS
    intent: str | None = None  # for action "route"
    tier: str | None = None  # for action "min_tier"
    reason: str = ""  # for "block", and a note shown with any action
    scope: str = "query"  # one of RULE_SCOPES


@dataclass(frozen=True, slots=True)
class TierSpec:
    name: str
    rank: int
    provider: str  # one of PROVIDERS
    model: str
    price_in_per_mtok: float  # USD per million input tokens
    price_out_per_mtok: float  # USD per million output tokens
    quality: float  # 0..1
    latency_ms: int = 0  # typical latency
    base_url: str = ""
    api_key_env: str = ""  # name of the environment variable holding the key
    enabled: bool = True
    # The gateway's call (routing/providers): window in tokens (0: unchecked), tools, timeouts.
    context_window: int = 0
    supports_tools: bool = True
    connect_timeout_seconds: float = 5.0
    timeout_seconds: float = 60.0
    max_retries: int = 1


@dataclass(frozen=True, slots=True)
class Policy:
    method: str = "linear"  # one of CLASSIFICATION_METHODS
    top_k: int = 5
    aggregation: str = "mean"  # one of KNN_AGGREGATIONS
    threshold: float = 0.5
    # In-domain gate: the query's cosine similarity to the predicted intent's centroid must reach
    # this floor. None: learned at compile time from held-out examples; -1.0 turns the gate off.
    similarity_floor: float | None = None
    ambiguity_low: float = 0.0  # LLM stage runs when low <= confidence < high
    ambiguity_high: float = 0.0
    fallback_intent: str | None = None
    fallback_tier: str | None = None
    cache_ttl_seconds: int = 300
    latency_budget_ms: int | None = None
    # minimum tier quality per complexity level
    complexity_min_quality: dict[str, float] = field(
        default_factory=lambda: {"simple": 0.0, "moderate": 0.6, "complex": 0.85}
    )
    # expected output tokens per complexity level, for cost estimates
    expected_output_tokens: dict[str, int] = field(
        default_factory=lambda: {"simple": 150, "moderate": 400, "complex": 900}
    )
    llm_timeout_seconds: float = 2.0  # per LLM call
    # Total LLM time per request: a batch's ambiguous queries are asked concurrently, and those
    # still unanswered after this keep their embedding answer (or fail over to the fallback tier).
    llm_budget_seconds: float = 5.0
    # A query at least this similar (cosine) to one example routes to that example's intent,
    # whatever the method, so a correction takes effect. High on purpose: with MiniLM "I want to
    # cancel my subscription" is 0.972 from "I do NOT want to ...". Above 1.0 turns it off.
    near_duplicate_similarity: float = 0.995
    # Hard queries (routing/engine/hard_queries.py); all off or inert by default.
    detect_negation: bool = False  # a negated top intent goes to the LLM band or loses confidence
    negation_confidence_factor: float = 0.3  # without an LLM band: confidence x this
    split_intents: bool = False  # several requests in one message: secondary intents
    detect_language: bool = False  # the decision's language; unsupported ones as below
    unsupported_language_handler: str = ""  # "": the fallback intent's handler
    # Retrieved context raises complexity (routing/engine/context.py).
    context_documents_moderate: int = 3
    context_documents_complex: int = 5
    context_tokens_moderate: int = 2000
    context_tokens_complex: int = 8000
    # Outcome-learned tiers: keep at least this fraction of the best tier's quality (held-out
    # outcomes pick each tier's threshold); None: off, the complexity floors decide.
    quality_target: float | None = None


# The hard-query stages' policy fields (routing.engine.hard_queries reads them).
HARD_QUERY_POLICY_FIELDS = (
    "detect_negation",
    "negation_confidence_factor",
    "split_intents",
    "detect_language",
    "unsupported_language_handler",
    "context_documents_moderate",
    "context_documents_complex",
    "context_tokens_moderate",
    "context_tokens_complex",
)
# Policy fields added after decisions were first logged with a digest: left out of the digest
# while at their defaults, so adding them changed no existing router's digest (or cache keys).
DIGEST_QUIET_AT_DEFAULT = (*HARD_QUERY_POLICY_FIELDS, "quality_target")


def policy_repr(policy: Policy) -> str:
    """repr(policy) without the DIGEST_QUIET_AT_DEFAULT fields left at their defaults."""
    default = Policy()
    shown = [
        f"{item.name}={getattr(policy, item.name)!r}"
        for item in fields(policy)
        if item.repr
        and not (
            item.name in DIGEST_QUIET_AT_DEFAULT
            and getattr(policy, item.name) == getattr(default, item.name)
        )
    ]
    return f"{type(policy).__qualname__}({', '.join(shown)})"


@dataclass(frozen=True, slots=True)
class RouterSnapshot:
    slug: str
    version: int
    encoder_name: str
    intents: tuple[IntentSpec, ...]
    example_texts: tuple[str, ...]
    example_intents: tuple[str, ...]  # intent name per example, aligned with example_texts
    example_vectors: np.ndarray  # (n_examples, dim) float32, L2-normalised
    complexity_texts: tuple[str, ...] = ()
    complexity_levels: tuple[str, ...] = ()  # one of COMPLEXITY_LEVELS per complexity example
    complexity_vectors: np.ndarray | None = None  # (n_complexity, dim) float32
    rules: tuple[RuleSpec, ...] = ()
    tiers: tuple[TierSpec, ...] = ()
    policy: Policy = field(default_factory=Policy)
    # Unique per stored version (set by the Django layer): a router deleted and re-created can
    # repeat (slug, version), and must not be served the old router's cached decisions.
    fingerprint: str = ""
    # Fitted from outcome records (routing/engine/quality.py); None: no outcome data.
    quality_head: QualityHead | None = None
