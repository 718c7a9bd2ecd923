"""The configuration document's one typed schema (format "semroute.router/1") and its bounds.

Every numeric field is bounded by what its database column holds and every text by its column's
length, here and only here: the models take their validators from these constants, so the import,
the console forms and the admin accept exactly the same values. `config_schema_problems` runs the
schema; `config_cross_problems` checks what refers to what (rules to intents, fallbacks to tiers,
the ambiguity band, the same example in two intents). Both report ConfigProblems with paths like
`intents[3].examples[2]`, all at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

import regex
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator, validate_slug
from ninja import Field, Schema
from pydantic import AfterValidator, ConfigDict
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import PydanticCustomError

from routing.engine.snapshot import (
    CLASSIFICATION_METHODS,
    COMPLEXITY_LEVELS,
    KNN_AGGREGATIONS,
    PROVIDERS,
    RULE_ACTIONS,
    RULE_KINDS,
    RULE_SCOPES,
    Policy,
)
from routing.provider_keys import key_variable_allowed, key_variable_refusal

CONFIG_FORMAT = "semroute.router/1"

# What the columns hold (PostgreSQL; SQLite stores anything, so these are checked, not assumed).
SMALL_INT_MAX = 32_767  # PositiveSmallIntegerField
INT_MIN, INT_MAX = -2_147_483_648, 2_147_483_647  # IntegerField / PositiveIntegerField
PRICE_MAX_DIGITS, PRICE_DECIMAL_PLACES = 10, 4
PRICE_MAX = float(Decimal(10) ** (PRICE_MAX_DIGITS - PRICE_DECIMAL_PLACES) - Decimal("0.0001"))
TOP_K_MAX = 100
SLUG_CHARS, NAME_CHARS, HANDLER_CHARS, MODEL_CHARS = 64, 200, 200, 200
BASE_URL_CHARS, KEY_VARIABLE_CHARS, PATTERN_CHARS, REASON_CHARS = 200, 100, 500, 300
DESCRIPTION_CHARS = 10_000
MAX_EXAMPLE_CHARS = 2000
# A tier's gateway call: connect and total timeouts (seconds) and retries on 429/5xx/connection.
TIMEOUT_MIN_SECONDS, TIMEOUT_MAX_SECONDS = 0.1, 600.0
MAX_TIER_RETRIES = 5
DEFAULT_CONNECT_TIMEOUT_SECONDS, DEFAULT_TIMEOUT_SECONDS, DEFAULT_TIER_RETRIES = 5.0, 60.0, 1

# Intent (and tier) names as teams write them: letters, digits and _ . - ?, case kept, unique
# ignoring case. "new" is the console's add-an-intent address (/r/<router>/intents/new/).
INTENT_NAME_CHARS = 64
INTENT_NAME_PATTERN = r"^(?!(?i:new)$)[A-Za-z0-9][A-Za-z0-9_.?-]{0,63}$"
INTENT_NAME_MESSAGE = (
    "Use uppercase or lowercase letters, digits, '_', '.', '-' or '?' (at most 64 characters), "
    "starting with a letter or digit; 'new' is reserved."
)
KEY_VARIABLE_PATTERN = r"^[A-Z_][A-Z0-9_]*$"
KEY_VARIABLE_MESSAGE = "Name an environment variable, e.g. OPENAI_API_KEY."
BASE_URL_SCHEMES = ["http", "https"]

_INTENT_NAME_RE = re.compile(INTENT_NAME_PATTERN)
_KEY_VARIABLE_RE = re.compile(KEY_VARIABLE_PATTERN)
_base_url = URLValidator(schemes=BASE_URL_SCHEMES)


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    field: str  # path into the document, e.g. "rules[2].pattern"
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


def text_problem(value: str) -> str | None:
    """Why a text cannot be stored (NUL, a lone surrogate), or None when it can."""
    if "\x00" in value:
        return "must not contain NUL (\\u0000) characters."
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must not contain lone surrogates (e.g. \\ud800); send valid Unicode."
    return None


def _storable(value: str) -> str:
    if problem := text_problem(value):
        raise PydanticCustomError("text_unstorable", problem)
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("blank", "must not be empty.")
    return value


def _example(value: str) -> str:
    if len(value.strip()) > MAX_EXAMPLE_CHARS:
        raise PydanticCustomError(
            "example_too_long",
            "an example is limited to {limit} characters (got {length}).",
            {"limit": MAX_EXAMPLE_CHARS, "length": len(value.strip())},
        )
    return value


def _slug(value: str) -> str:
    try:
        validate_slug(value)
    except DjangoValidationError as error:
        raise PydanticCustomError("slug", " ".join(error.messages)) from None
    return value


def _name(value: str) -> str:
    if not _INTENT_NAME_RE.match(value):
        raise PydanticCustomError("name", INTENT_NAME_MESSAGE)
    return value


def _key_variable(value: str) -> str:
    if value and not _KEY_VARIABLE_RE.match(value):
        raise PydanticCustomError("key_variable", KEY_VARIABLE_MESSAGE)
    if value and not key_variable_allowed(value):
        raise PydanticCustomError("key_variable_refused", key_variable_refusal(value))
    return value


def _url(value: str) -> str:
    if value:
        try:
            _base_url(value)
        except DjangoValidationError:
            raise PydanticCustomError(
                "base_url", "must be an http:// or https:// URL (or empty)."
            ) from None
    return value


def _text(max_length: int, *checks) -> Any:
    return Annotated[
        str, Field(max_length=max_length), AfterValidator(_storable), *map(AfterValidator, checks)
    ]


def _int(low: int, high: int) -> Any:
    return Annotated[int, Field(ge=low, le=high)]


def _number(low: float, high: float) -> Any:
    return Annotated[float, Field(ge=low, le=high, allow_inf_nan=False)]


Slug = _text(SLUG_CHARS, _not_blank, _slug)
Name = _text(INTENT_NAME_CHARS, _not_blank, _name)
Reference = _text(INTENT_NAME_CHARS)
Description = _text(DESCRIPTION_CHARS)
ExampleText = _text(DESCRIPTION_CHARS, _not_blank, _example)
Unit = _number(0.0, 1.0)
Price = _number(0.0, PRICE_MAX)
Count = _int(0, INT_MAX)
DEFAULT_POLICY = Policy()


class _Strict(Schema):
    # Strict: "0.5" is not a number and 1 is not true; extra keys would write nothing, so refuse them.
    model_config = ConfigDict(strict=True, extra="forbid")


class TierDoc(_Strict):
    name: Name
    rank: _int(0, SMALL_INT_MAX) = Field(description="1 = cheapest/weakest; higher = more capable.")
    provider: Literal[PROVIDERS]
    model: _text(MODEL_CHARS, _not_blank)
    base_url: _text(BASE_URL_CHARS, _url) = ""
    api_key_env: _text(KEY_VARIABLE_CHARS, _key_variable) = Field(
        "", description="Environment variable holding the key (allow-listed), never the key."
    )
    price_in_per_mtok: Price = Field(description="USD per million input tokens.")
    price_out_per_mtok: Price = Field(description="USD per million output tokens.")
    quality: Unit
    latency_ms: Count = 0
    enabled: bool = True
    context_window: Count = Field(
        0, description="Tokens the model takes, prompt and answer together; 0: not checked."
    )
    supports_tools: bool = Field(True, description="Requests with `tools` may go to this tier.")
    connect_timeout_seconds: _number(TIMEOUT_MIN_SECONDS, TIMEOUT_MAX_SECONDS) = (
        DEFAULT_CONNECT_TIMEOUT_SECONDS
    )
    timeout_seconds: _number(TIMEOUT_MIN_SECONDS, TIMEOUT_MAX_SECONDS) = Field(
        DEFAULT_TIMEOUT_SECONDS, description="Total time one call to this tier may take."
    )
    max_retries: _int(0, MAX_TIER_RETRIES) = Field(
        DEFAULT_TIER_RETRIES, description="Retries on 429 (after Retry-After), 5xx, connection."
    )


class IntentDoc(_Strict):
    name: Name
    description: Description = ""
    handler: _text(HANDLER_CHARS, _not_blank)
    threshold: Unit | None = None
    min_tier: Reference | None = None
    enabled: bool = True
    examples: list[ExampleText] = []


class RuleDoc(_Strict):
    kind: Literal[RULE_KINDS]
    pattern: _text(PATTERN_CHARS, _not_blank)
    priority: _int(INT_MIN, INT_MAX) = 0
    action: Literal[RULE_ACTIONS]
    intent: Reference | None = None
    tier: Reference | None = None
    reason: _text(REASON_CHARS) = ""
    scope: Literal[RULE_SCOPES] = "query"
    enabled: bool = True


class ComplexityExamplesDoc(_Strict):
    simple: list[ExampleText] = []
    moderate: list[ExampleText] = []
    complex: list[ExampleText] = []


class PolicyDoc(_Strict):
    method: Literal[CLASSIFICATION_METHODS] = DEFAULT_POLICY.method
    top_k: _int(1, TOP_K_MAX) = DEFAULT_POLICY.top_k
    aggregation: Literal[KNN_AGGREGATIONS] = DEFAULT_POLICY.aggregation
    threshold: Unit = DEFAULT_POLICY.threshold
    ambiguity_low: Unit = DEFAULT_POLICY.ambiguity_low
    ambiguity_high: Unit = DEFAULT_POLICY.ambiguity_high
    fallback_intent: Reference | None = None
    fallback_tier: Reference | None = None
    cache_ttl_seconds: Count = DEFAULT_POLICY.cache_ttl_seconds
    latency_budget_ms: _int(1, INT_MAX) | None = None
    similarity_floor: _number(-1.0, 1.0) | None = None
    quality_target: Unit | None = None
    min_quality_simple: Unit = DEFAULT_POLICY.complexity_min_quality["simple"]
    min_quality_moderate: Unit = DEFAULT_POLICY.complexity_min_quality["moderate"]
    min_quality_complex: Unit = DEFAULT_POLICY.complexity_min_quality["complex"]
    output_tokens_simple: Count = DEFAULT_POLICY.expected_output_tokens["simple"]
    output_tokens_moderate: Count = DEFAULT_POLICY.expected_output_tokens["moderate"]
    output_tokens_complex: Count = DEFAULT_POLICY.expected_output_tokens["complex"]
    # Hard queries (routing/engine/hard_queries.py), off by default.
    detect_negation: bool = DEFAULT_POLICY.detect_negation
    negation_confidence_factor: Unit = DEFAULT_POLICY.negation_confidence_factor
    split_intents: bool = DEFAULT_POLICY.split_intents
    detect_language: bool = DEFAULT_POLICY.detect_language
    unsupported_language_handler: _text(HANDLER_CHARS) = ""
    context_documents_moderate: _int(1, INT_MAX) = DEFAULT_POLICY.context_documents_moderate
    context_documents_complex: _int(1, INT_MAX) = DEFAULT_POLICY.context_documents_complex
    context_tokens_moderate: _int(1, INT_MAX) = DEFAULT_POLICY.context_tokens_moderate
    context_tokens_complex: _int(1, INT_MAX) = DEFAULT_POLICY.context_tokens_complex


class ConfigDocument(_Strict):
    """A router's whole configuration (format semroute.router/1): GET exports it, PUT imports it."""

    format: Literal[CONFIG_FORMAT] = CONFIG_FORMAT
    slug: Slug
    name: _text(NAME_CHARS, _not_blank)
    description: Description = ""
    version: int | None = Field(None, description="Exported for reference; ignored on import.")
    policy: PolicyDoc = PolicyDoc()
    tiers: list[TierDoc] = []
    intents: list[IntentDoc] = []
    complexity_examples: ComplexityExamplesDoc = ComplexityExamplesDoc()
    rules: list[RuleDoc] = []


POLICY_DEFAULTS: dict[str, Any] = {
    name: field.default for name, field in PolicyDoc.model_fields.items()
}
TIER_FIELDS = tuple(TierDoc.model_fields)
TIER_DEFAULTS: dict[str, Any] = {
    name: field.default for name, field in TierDoc.model_fields.items() if not field.is_required()
}
INTENT_FIELDS = tuple(name for name in IntentDoc.model_fields if name != "examples")
RULE_FIELDS = tuple(RuleDoc.model_fields)
_SECTIONS: dict[str, type[Schema]] = {
    "policy": PolicyDoc,
    "tiers": TierDoc,
    "intents": IntentDoc,
    "rules": RuleDoc,
}


def _path(loc: tuple) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _unknown_keys_problem(parent: tuple, keys: list[str]) -> ConfigProblem:
    if parent == ("complexity_examples",):
        return ConfigProblem(
            f"complexity_examples.{keys[0]}", f"unknown level; use {list(COMPLEXITY_LEVELS)}."
        )
    model = _SECTIONS.get(parent[0], ConfigDocument) if parent else ConfigDocument
    allowed = list(model.model_fields)
    return ConfigProblem(_path(parent), f"unknown keys {sorted(keys)}; allowed: {allowed}.")


def _message(error: dict) -> str:
    if error["type"] == "missing":
        return "is required."
    message = error["msg"]
    return message if message.endswith(".") else f"{message}."


def config_schema_problems(document: dict[str, Any]) -> list[ConfigProblem]:
    """Every type, bound and format problem of a document, by the one schema."""
    try:
        ConfigDocument.model_validate(document)
    except PydanticValidationError as exc:
        problems: list[ConfigProblem] = []
        unknown: dict[tuple, list[str]] = {}
        for error in exc.errors():
            loc = tuple(error["loc"])
            if error["type"] == "extra_forbidden":
                unknown.setdefault(loc[:-1], []).append(str(loc[-1]))
            else:
                problems.append(ConfigProblem(_path(loc), _message(error)))
        problems.extend(_unknown_keys_problem(parent, keys) for parent, keys in unknown.items())
        return problems
    return []


def regex_error(pattern: str) -> str | None:
    """The compile error of a rule's regex, or None when it is valid."""
    try:
        regex.compile(pattern)
    except regex.error as exc:
        return str(exc)
    return None


def ambiguity_band_problem(low: float, high: float) -> str | None:
    """The LLM stage runs when low <= confidence < high: the band must not be inverted."""
    if low > high:
        return "the ambiguity band's high bound must be >= its low bound."
    return None


def context_threshold_problems(values: dict[str, Any]) -> dict[str, str]:
    """Retrieved-context thresholds (field -> problem): each "moderate" at most its "complex"."""
    problems: dict[str, str] = {}
    for kind in ("documents", "tokens"):
        moderate = values.get(
            f"context_{kind}_moderate", POLICY_DEFAULTS[f"context_{kind}_moderate"]
        )
        complex_ = values.get(f"context_{kind}_complex", POLICY_DEFAULTS[f"context_{kind}_complex"])
        if isinstance(moderate, int) and isinstance(complex_, int) and moderate > complex_:
            problems[f"context_{kind}_complex"] = (
                f"the complex threshold ({complex_}) must be >= the moderate one ({moderate})."
            )
    return problems


def rule_problems(
    *, kind: Any, pattern: str, action: Any, has_intent: bool, has_tier: bool, reason: str
) -> dict[str, str]:
    """A rule's own consistency (field -> problem): its regex compiles, its action has a target."""
    problems: dict[str, str] = {}
    compilable = pattern.strip() and len(pattern) <= PATTERN_CHARS  # longer: the schema says so
    if kind == "regex" and compilable and (message := regex_error(pattern)):
        problems["pattern"] = f"invalid regular expression: {message}."
    if action == "route" and not has_intent:
        problems["intent"] = "a 'route' rule needs the intent it routes to."
    if action == "min_tier" and not has_tier:
        problems["tier"] = "a 'min_tier' rule needs the tier it forces."
    if action == "block" and not reason.strip():
        problems["reason"] = "a 'block' rule needs a reason (it is returned to the caller)."
    return problems


def _items(document: dict, key: str) -> list[dict]:
    value = document.get(key)
    return (
        [item if isinstance(item, dict) else {} for item in value]
        if isinstance(value, list)
        else []
    )


def _reference(value: Any) -> str | None:
    """A name another part refers to; anything but a string is the schema's problem, not ours."""
    return value if isinstance(value, str) else None


def _names(items: list[dict]) -> list[str]:
    return [item["name"] for item in items if isinstance(item.get("name"), str)]


def config_cross_problems(document: dict[str, Any]) -> list[ConfigProblem]:
    """What the schema cannot see: names that must exist, be unique, and agree with each other.

    Tolerates a document the schema refuses, so an import lists every problem at once.
    """
    problems: list[ConfigProblem] = []
    fail = lambda field, message: problems.append(ConfigProblem(field, message))  # noqa: E731
    tiers, intents = _items(document, "tiers"), _items(document, "intents")
    tier_names = set(_names(tiers))
    seen_tiers: set[str] = set()
    for i, tier in enumerate(tiers):
        name = tier.get("name")
        if isinstance(name, str) and name in seen_tiers:
            fail(f"tiers[{i}].name", f"duplicate tier name {name!r}.")
        if isinstance(name, str):
            seen_tiers.add(name)

    intent_names = set(_names(intents))
    seen_intents: dict[str, str] = {}
    owner: dict[str, tuple[str, int]] = {}  # example text -> (intent name, intent index)
    for i, intent in enumerate(intents):
        name = intent.get("name")
        if isinstance(name, str):
            if (other := seen_intents.get(name.casefold())) is not None:
                fail(
                    f"intents[{i}].name",
                    f"duplicate intent name {name!r} (ignoring case: {other!r}).",
                )
            seen_intents.setdefault(name.casefold(), name)
        min_tier = _reference(intent.get("min_tier"))
        if min_tier is not None and min_tier not in tier_names:
            fail(
                f"intents[{i}].min_tier",
                f"unknown tier {min_tier!r}; tiers are {sorted(tier_names)}.",
            )
        examples = intent.get("examples")
        for j, text in enumerate(examples if isinstance(examples, list) else []):
            if not isinstance(text, str) or not text.strip():
                continue
            first = owner.setdefault(text.strip(), (name, i))
            if first[1] != i:
                fail(
                    f"intents[{i}].examples[{j}]",
                    f"{text.strip()[:80]!r} is already an example of intent {first[0]!r} "
                    f"(intents[{first[1]}]); an example belongs to one intent.",
                )

    for i, rule in enumerate(_items(document, "rules")):
        reason = rule.get("reason")
        own = rule_problems(
            kind=rule.get("kind"),
            pattern=rule.get("pattern") if isinstance(rule.get("pattern"), str) else "",
            action=rule.get("action"),
            has_intent=rule.get("intent") is not None,
            has_tier=rule.get("tier") is not None,
            reason=reason if isinstance(reason, str) else "",
        )
        for key, message in own.items():
            fail(f"rules[{i}].{key}", message)
        intent, tier = _reference(rule.get("intent")), _reference(rule.get("tier"))
        if intent is not None and intent not in intent_names:
            fail(f"rules[{i}].intent", f"unknown intent {intent!r}.")
        if tier is not None and tier not in tier_names:
            fail(f"rules[{i}].tier", f"unknown tier {tier!r}.")

    policy = document.get("policy")
    policy = policy if isinstance(policy, dict) else {}
    low = policy.get("ambiguity_low", POLICY_DEFAULTS["ambiguity_low"])
    high = policy.get("ambiguity_high", POLICY_DEFAULTS["ambiguity_high"])
    if isinstance(low, int | float) and isinstance(high, int | float):
        if message := ambiguity_band_problem(low, high):
            fail("policy.ambiguity_high", message)
    for key, message in context_threshold_problems(policy).items():
        fail(f"policy.{key}", message)
    fallback_intent = _reference(policy.get("fallback_intent"))
    fallback_tier = _reference(policy.get("fallback_tier"))
    if fallback_intent is not None and fallback_intent not in intent_names:
        fail("policy.fallback_intent", f"unknown intent {fallback_intent!r}.")
    if fallback_tier is not None and fallback_tier not in tier_names:
        fail("policy.fallback_tier", f"unknown tier {fallback_tier!r}.")
    return problems
