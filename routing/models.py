"""Routing configuration: routers, intents, examples, rules, model tiers, versions, API keys.

Every configuration change goes through routing/services/, which bumps the router's version
in the same transaction; nothing here has save() logic or signals.
"""

from __future__ import annotations

import math

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import (
    MaxValueValidator,
    MinValueValidator,
    RegexValidator,
    URLValidator,
)
from django.db import models
from django.db.models import Count, F
from django.db.models.functions import Lower
from django.utils import timezone

from routing.config_schema import (
    BASE_URL_SCHEMES,
    DEFAULT_CONNECT_TIMEOUT_SECONDS,
    DEFAULT_TIER_RETRIES,
    DEFAULT_TIMEOUT_SECONDS,
    INT_MAX,
    INT_MIN,
    INTENT_NAME_MESSAGE,
    INTENT_NAME_PATTERN,
    KEY_VARIABLE_MESSAGE,
    KEY_VARIABLE_PATTERN,
    MAX_TIER_RETRIES,
    PRICE_DECIMAL_PLACES,
    PRICE_MAX,
    PRICE_MAX_DIGITS,
    SMALL_INT_MAX,
    TIMEOUT_MAX_SECONDS,
    TIMEOUT_MIN_SECONDS,
    TOP_K_MAX,
    ambiguity_band_problem,
    context_threshold_problems,
    rule_problems,
    text_problem,
)
from routing.engine.snapshot import (
    CLASSIFICATION_METHODS,
    COMPLEXITY_LEVELS,
    HARD_QUERY_POLICY_FIELDS,
    KNN_AGGREGATIONS,
    PROVIDERS,
    RULE_ACTIONS,
    RULE_KINDS,
    RULE_SCOPES,
    Policy,
)
from routing.provider_keys import key_variable_allowed, key_variable_refusal


def finite_number_validator(value) -> None:
    """NaN passes every min/max comparison and infinity fits no column: refuse both."""
    if value is not None and not math.isfinite(value):
        raise ValidationError("Enter a finite number.", code="not_finite")


# Bounds come from routing/config_schema.py, so the console, the admin and the import agree.
UNIT_INTERVAL = [finite_number_validator, MinValueValidator(0.0), MaxValueValidator(1.0)]
PRICE_RANGE = [finite_number_validator, MinValueValidator(0.0), MaxValueValidator(PRICE_MAX)]
COUNT_RANGE = [MaxValueValidator(INT_MAX)]
TIMEOUT_RANGE = [
    finite_number_validator,
    MinValueValidator(TIMEOUT_MIN_SECONDS),
    MaxValueValidator(TIMEOUT_MAX_SECONDS),
]
intent_name_validator = RegexValidator(INTENT_NAME_PATTERN, INTENT_NAME_MESSAGE)
_DEFAULT_POLICY = Policy()


def storable_text_validator(value: str) -> None:
    """Refuse NUL and lone surrogates: PostgreSQL cannot store them, SQLite would store garbage."""
    if isinstance(value, str) and (problem := text_problem(value)):
        raise ValidationError(f"The text {problem}", code="unstorable")


def key_variable_validator(value: str) -> None:
    """Only allow-listed environment variables may hold a provider key (routing/provider_keys.py)."""
    if value and not key_variable_allowed(value):
        raise ValidationError(key_variable_refusal(value), code="key_variable_refused")


TEXT = [storable_text_validator]


def _choices(values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(value, value.replace("_", " ")) for value in values]


# Router fields per complexity level: (level, minimum quality field, expected output tokens field).
COMPLEXITY_FIELDS = tuple(
    (level, f"min_quality_{level}", f"output_tokens_{level}") for level in COMPLEXITY_LEVELS
)
COMPLEXITY_POLICY_FIELDS = tuple(quality for _, quality, _ in COMPLEXITY_FIELDS) + tuple(
    tokens for _, _, tokens in COMPLEXITY_FIELDS
)


class Router(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200, validators=TEXT)
    description = models.TextField(blank=True, validators=TEXT)
    version = models.PositiveIntegerField(default=0, editable=False)

    # Routing policy
    method = models.CharField(
        max_length=16, choices=_choices(CLASSIFICATION_METHODS), default="linear"
    )
    top_k = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(1), MaxValueValidator(TOP_K_MAX)]
    )
    aggregation = models.CharField(max_length=8, choices=_choices(KNN_AGGREGATIONS), default="mean")
    threshold = models.FloatField(
        default=0.5, validators=UNIT_INTERVAL, help_text="Default minimum confidence for an intent."
    )
    ambiguity_low = models.FloatField(
        default=0.0,
        validators=UNIT_INTERVAL,
        help_text="LLM stage runs when low <= confidence < high.",
    )
    ambiguity_high = models.FloatField(default=0.0, validators=UNIT_INTERVAL)
    fallback_intent = models.ForeignKey(
        "Intent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    fallback_tier = models.ForeignKey(
        "ModelTier", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cache_ttl_seconds = models.PositiveIntegerField(default=300, validators=COUNT_RANGE)
    latency_budget_ms = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(INT_MAX)]
    )
    similarity_floor = models.FloatField(
        null=True,
        blank=True,
        validators=[finite_number_validator, MinValueValidator(-1.0), MaxValueValidator(1.0)],
        help_text="In-domain check: minimum similarity of a query to its intent. Empty: learned from the examples; -1: off.",
    )
    quality_target = models.FloatField(
        null=True,
        blank=True,
        validators=UNIT_INTERVAL,
        help_text="Outcome-learned tiers: keep at least this fraction of the best tier's quality "
        "(0.95 = 95%). Empty: off, the complexity floors decide. Needs a fitted quality head "
        "(Outcomes tab).",
    )
    # Per complexity level: the minimum tier quality, and the output tokens a cost estimate assumes.
    min_quality_simple = models.FloatField(
        "simple: minimum tier quality",
        default=_DEFAULT_POLICY.complexity_min_quality["simple"],
        validators=UNIT_INTERVAL,
        help_text="The cheapest tier at least this good answers a simple query.",
    )
    min_quality_moderate = models.FloatField(
        "moderate: minimum tier quality",
        default=_DEFAULT_POLICY.complexity_min_quality["moderate"],
        validators=UNIT_INTERVAL,
    )
    min_quality_complex = models.FloatField(
        "complex: minimum tier quality",
        default=_DEFAULT_POLICY.complexity_min_quality["complex"],
        validators=UNIT_INTERVAL,
    )
    output_tokens_simple = models.PositiveIntegerField(
        "simple: expected output tokens",
        default=_DEFAULT_POLICY.expected_output_tokens["simple"],
        validators=COUNT_RANGE,
        help_text="For cost estimates and the cost order of tiers.",
    )
    output_tokens_moderate = models.PositiveIntegerField(
        "moderate: expected output tokens",
        default=_DEFAULT_POLICY.expected_output_tokens["moderate"],
        validators=COUNT_RANGE,
    )
    output_tokens_complex = models.PositiveIntegerField(
        "complex: expected output tokens",
        default=_DEFAULT_POLICY.expected_output_tokens["complex"],
        validators=COUNT_RANGE,
    )
    # Hard queries (routing/engine/hard_queries.py): off by default, so routing is unchanged.
    detect_negation = models.BooleanField(
        default=_DEFAULT_POLICY.detect_negation,
        help_text="A negated top intent ('I do NOT want to cancel') goes to the LLM band, "
        "and its confidence is multiplied by the factor below.",
    )
    negation_confidence_factor = models.FloatField(
        default=_DEFAULT_POLICY.negation_confidence_factor, validators=UNIT_INTERVAL
    )
    split_intents = models.BooleanField(
        default=_DEFAULT_POLICY.split_intents,
        help_text="Split a message that asks several things and report its secondary intents.",
    )
    detect_language = models.BooleanField(
        default=_DEFAULT_POLICY.detect_language,
        help_text="Detect the query's language; one the encoder does not cover goes to the LLM "
        "band, else to the fallback intent and tier.",
    )
    unsupported_language_handler = models.CharField(
        max_length=200,
        blank=True,
        validators=TEXT,
        help_text="Handler for queries in a language the encoder does not cover (empty: the "
        "fallback intent's).",
    )
    context_documents_moderate = models.PositiveIntegerField(
        "retrieved context: documents for moderate",
        default=_DEFAULT_POLICY.context_documents_moderate,
        validators=[MinValueValidator(1), MaxValueValidator(INT_MAX)],
    )
    context_documents_complex = models.PositiveIntegerField(
        "retrieved context: documents for complex",
        default=_DEFAULT_POLICY.context_documents_complex,
        validators=[MinValueValidator(1), MaxValueValidator(INT_MAX)],
    )
    context_tokens_moderate = models.PositiveIntegerField(
        "retrieved context: tokens for moderate",
        default=_DEFAULT_POLICY.context_tokens_moderate,
        validators=[MinValueValidator(1), MaxValueValidator(INT_MAX)],
    )
    context_tokens_complex = models.PositiveIntegerField(
        "retrieved context: tokens for complex",
        default=_DEFAULT_POLICY.context_tokens_complex,
        validators=[MinValueValidator(1), MaxValueValidator(INT_MAX)],
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Saved explicitly (update_fields) so a stale in-memory `version` is never written back.
    POLICY_FIELDS = (
        "method",
        "top_k",
        "aggregation",
        "threshold",
        "ambiguity_low",
        "ambiguity_high",
        "fallback_intent",
        "fallback_tier",
        "cache_ttl_seconds",
        "latency_budget_ms",
        "similarity_floor",
        "quality_target",
        *COMPLEXITY_POLICY_FIELDS,
        *HARD_QUERY_POLICY_FIELDS,
    )
    EDITABLE_FIELDS = ("name", "description", *POLICY_FIELDS, "updated_at")

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    def clean(self) -> None:
        if None not in (self.ambiguity_low, self.ambiguity_high) and (
            problem := ambiguity_band_problem(self.ambiguity_low, self.ambiguity_high)
        ):
            raise ValidationError({"ambiguity_high": problem[0].upper() + problem[1:]})
        if problems := context_threshold_problems(
            {name: getattr(self, name) for name in HARD_QUERY_POLICY_FIELDS}
        ):
            raise ValidationError(
                {key: text[0].upper() + text[1:] for key, text in problems.items()}
            )
        if self.pk:
            if self.fallback_intent_id and self.fallback_intent.router_id != self.pk:
                raise ValidationError(
                    {"fallback_intent": "The fallback intent must belong to this router."}
                )
            if self.fallback_tier_id and self.fallback_tier.router_id != self.pk:
                raise ValidationError(
                    {"fallback_tier": "The fallback tier must belong to this router."}
                )

    # The two policy fields that refer to an intent and a tier; the others are plain values.
    POLICY_REFERENCES = ("fallback_intent", "fallback_tier")

    def policy_values(self) -> dict:
        """The policy fields that are plain values (not the fallback intent and tier)."""
        return {
            field: getattr(self, field)
            for field in self.POLICY_FIELDS
            if field not in self.POLICY_REFERENCES
        }

    @property
    def revision(self) -> str:
        """Unique per stored version, even for a router deleted and re-created with the same slug."""
        return f"{self.pk}:{self.version}:{self.updated_at.timestamp():.6f}"

    def bump_version(self) -> int:
        """Increment the version atomically in the database and return the new number."""
        Router.objects.filter(pk=self.pk).update(
            version=F("version") + 1, updated_at=timezone.now()
        )
        self.refresh_from_db(fields=["version", "updated_at"])
        return self.version


class IntentQuerySet(models.QuerySet):
    def enabled(self) -> IntentQuerySet:
        return self.filter(enabled=True)

    def for_router(self, router: Router) -> IntentQuerySet:
        return self.filter(router=router)

    def with_example_count(self) -> IntentQuerySet:
        return self.annotate(example_count=Count("examples"))


class Intent(models.Model):
    router = models.ForeignKey(Router, on_delete=models.CASCADE, related_name="intents")
    name = models.CharField(max_length=64, validators=[intent_name_validator])
    description = models.TextField(
        blank=True,
        validators=TEXT,
        help_text="Shown to the LLM classifier; say what belongs here and what does not.",
    )
    handler = models.CharField(
        max_length=200,
        validators=TEXT,
        help_text="The application's pipeline or handler name returned to callers.",
    )
    threshold = models.FloatField(
        null=True,
        blank=True,
        validators=UNIT_INTERVAL,
        help_text="Overrides the router's default threshold.",
    )
    min_tier = models.ForeignKey(
        "ModelTier", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = IntentQuerySet.as_manager()

    class Meta:
        ordering = ["router", "name"]
        constraints = [
            models.UniqueConstraint(
                "router",
                Lower("name"),
                name="intent_unique_name_per_router_ci",
                violation_error_message="An intent with this name already exists in this router (names are compared ignoring case).",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.min_tier_id and self.router_id and self.min_tier.router_id != self.router_id:
            raise ValidationError({"min_tier": "The minimum tier must belong to the same router."})


class ExampleSource(models.TextChoices):
    SEED = "seed"
    MANUAL = "manual"
    REVIEW = "review"
    IMPORT = "import"


class EmbeddedTextQuerySet(models.QuerySet):
    def needing_vectors(self, encoder_name: str) -> EmbeddedTextQuerySet:
        return self.filter(models.Q(vector__isnull=True) | ~models.Q(encoder=encoder_name))


class EmbeddedText(models.Model):
    """A labelled text with its embedding (float32 bytes) and the encoder that made it."""

    text = models.TextField(validators=TEXT)
    vector = models.BinaryField(null=True, blank=True, editable=False)
    encoder = models.CharField(max_length=100, blank=True, editable=False)
    source = models.CharField(
        max_length=8, choices=ExampleSource.choices, default=ExampleSource.MANUAL
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = EmbeddedTextQuerySet.as_manager()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.text[:80]

    def vector_array(self) -> np.ndarray | None:
        if self.vector is None:
            return None
        return np.frombuffer(bytes(self.vector), dtype=np.float32)


class Example(EmbeddedText):
    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="examples")

    class Meta:
        ordering = ["intent", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["intent", "text"], name="example_unique_text_per_intent"
            )
        ]


class ComplexityExample(EmbeddedText):
    router = models.ForeignKey(Router, on_delete=models.CASCADE, related_name="complexity_examples")
    level = models.CharField(max_length=8, choices=_choices(COMPLEXITY_LEVELS))

    class Meta:
        ordering = ["router", "level", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["router", "level", "text"], name="complexity_example_unique_text"
            )
        ]


class ModelTier(models.Model):
    router = models.ForeignKey(Router, on_delete=models.CASCADE, related_name="tiers")
    name = models.CharField(max_length=64, validators=[intent_name_validator])
    rank = models.PositiveSmallIntegerField(
        validators=[MaxValueValidator(SMALL_INT_MAX)],
        help_text="1 = cheapest/weakest; higher = more capable.",
    )
    provider = models.CharField(max_length=20, choices=_choices(PROVIDERS))
    model = models.CharField(max_length=200, validators=TEXT)
    base_url = models.URLField(
        blank=True,
        validators=[URLValidator(schemes=BASE_URL_SCHEMES)],
        help_text="Only for OpenAI-compatible servers or proxies.",
    )
    api_key_env = models.CharField(
        max_length=100,
        blank=True,
        validators=[
            RegexValidator(KEY_VARIABLE_PATTERN, KEY_VARIABLE_MESSAGE),
            key_variable_validator,
        ],
        help_text="Name of the environment variable holding the key (never the key itself); "
        "allowed: names ending in _API_KEY or starting with SEMROUTE_KEY_, or listed in "
        "SEMROUTE_PROVIDER_KEY_VARS.",
    )
    price_in_per_mtok = models.DecimalField(
        "price per 1M input tokens (USD)",
        max_digits=PRICE_MAX_DIGITS,
        decimal_places=PRICE_DECIMAL_PLACES,
        validators=PRICE_RANGE,
    )
    price_out_per_mtok = models.DecimalField(
        "price per 1M output tokens (USD)",
        max_digits=PRICE_MAX_DIGITS,
        decimal_places=PRICE_DECIMAL_PLACES,
        validators=PRICE_RANGE,
    )
    quality = models.FloatField(validators=UNIT_INTERVAL, help_text="0-1, measured answer quality.")
    latency_ms = models.PositiveIntegerField(
        default=0, validators=COUNT_RANGE, help_text="Typical latency of one answer."
    )
    enabled = models.BooleanField(default=True)
    context_window = models.PositiveIntegerField(
        "context window (tokens)",
        default=0,
        validators=COUNT_RANGE,
        help_text="Prompt and answer together; a longer request skips this tier. 0: not checked.",
    )
    supports_tools = models.BooleanField(
        default=True, help_text="Requests with tools (function calling) may go to this tier."
    )
    connect_timeout_seconds = models.FloatField(
        default=DEFAULT_CONNECT_TIMEOUT_SECONDS, validators=TIMEOUT_RANGE
    )
    timeout_seconds = models.FloatField(
        "total timeout (seconds)",
        default=DEFAULT_TIMEOUT_SECONDS,
        validators=TIMEOUT_RANGE,
        help_text="One call, streamed or not, never takes longer.",
    )
    max_retries = models.PositiveSmallIntegerField(
        default=DEFAULT_TIER_RETRIES,
        validators=[MaxValueValidator(MAX_TIER_RETRIES)],
        help_text="Retries on 429 (honouring Retry-After), 5xx and connection errors.",
    )

    class Meta:
        ordering = ["router", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["router", "name"], name="tier_unique_name_per_router")
        ]

    def __str__(self) -> str:
        return self.name


class Rule(models.Model):
    router = models.ForeignKey(Router, on_delete=models.CASCADE, related_name="rules")
    kind = models.CharField(max_length=8, choices=_choices(RULE_KINDS), default="keyword")
    pattern = models.CharField(max_length=500, validators=TEXT)
    priority = models.IntegerField(
        default=0,
        validators=[MinValueValidator(INT_MIN), MaxValueValidator(INT_MAX)],
        help_text="Higher runs first.",
    )
    action = models.CharField(max_length=8, choices=_choices(RULE_ACTIONS), default="route")
    intent = models.ForeignKey(
        Intent, null=True, blank=True, on_delete=models.CASCADE, related_name="rules"
    )
    tier = models.ForeignKey(
        ModelTier, null=True, blank=True, on_delete=models.CASCADE, related_name="rules"
    )
    reason = models.CharField(max_length=300, blank=True, validators=TEXT)
    scope = models.CharField(
        max_length=12,
        choices=_choices(RULE_SCOPES),
        default="query",
        help_text="query: the last user message only; conversation: it or any earlier user "
        "message of the conversation (gateway, or the route API's earlier_turns).",
    )
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["router", "-priority", "id"]

    def __str__(self) -> str:
        return f"{self.kind}:{self.pattern}"

    def clean(self) -> None:
        errors = {
            field: message[0].upper() + message[1:]
            for field, message in rule_problems(
                kind=self.kind,
                pattern=self.pattern or "",
                action=self.action,
                has_intent=bool(self.intent_id),
                has_tier=bool(self.tier_id),
                reason=self.reason or "",
            ).items()
        }
        if not (self.pattern or "").strip():
            errors["pattern"] = "The pattern is empty."
        if self.intent_id and self.router_id and self.intent.router_id != self.router_id:
            errors["intent"] = "The intent must belong to the same router."
        if self.tier_id and self.router_id and self.tier.router_id != self.router_id:
            errors["tier"] = "The tier must belong to the same router."
        if errors:
            raise ValidationError(errors)


class RouterVersion(models.Model):
    """One saved configuration: what it contained, what changed, who changed it."""

    router = models.ForeignKey(Router, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    summary = models.CharField(max_length=500)
    config = models.JSONField(help_text="The exported configuration document of this version.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who made it when no user did, e.g. "key uxapp" for an API key's import.
    author_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["router", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["router", "number"], name="version_unique_number")
        ]

    def __str__(self) -> str:
        return f"{self.router.slug} v{self.number}"

    @property
    def author(self) -> str:
        """The user's name, else the recorded label (an API key), else "system"."""
        if self.created_by_id and self.created_by:
            return self.created_by.username
        return self.author_label or "system"


API_KEY_SCOPES = (
    "route",
    "feedback",
    "config:read",
    "config:write",
    "decisions:read",
    "evaluate",
    "gateway",
    "review",
)


class APIKeyQuerySet(models.QuerySet):
    def active(self) -> APIKeyQuerySet:
        return self.filter(revoked_at__isnull=True)


class APIKey(models.Model):
    name = models.CharField(max_length=200, validators=TEXT)
    prefix = models.CharField(
        max_length=16, unique=True, editable=False, help_text="Visible start of the key."
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list, help_text=f"Any of: {', '.join(API_KEY_SCOPES)}.")
    routers = models.ManyToManyField(
        Router, blank=True, related_name="api_keys", help_text="Empty: every router."
    )
    rate_limit_per_minute = models.PositiveIntegerField(default=6000, validators=COUNT_RANGE)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = APIKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def clean(self) -> None:
        unknown = sorted(set(self.scopes or []) - set(API_KEY_SCOPES))
        if not isinstance(self.scopes, list) or unknown:
            raise ValidationError(
                {"scopes": f"Unknown scopes {unknown}; use a list of {list(API_KEY_SCOPES)}."}
            )


class FittedQualityHead(models.Model):
    """A quality predictor fitted from a router's outcome records, handed to routing as data.

    Analytics fits it (analytics/outcomes/) and installs it through
    routing/services/quality_heads.py; the snapshot reads the newest one
    (routing/engine/quality.py reads `document`). Routing never reads the outcome records.
    """

    router = models.ForeignKey(Router, on_delete=models.CASCADE, related_name="quality_heads")
    document = models.JSONField(help_text="routing.engine.quality document (semroute.quality/1).")
    # Held-out metrics for the console (AUC per tier, outcome counts); not read by routing.
    summary = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"quality head {self.pk} of {self.router_id}"
