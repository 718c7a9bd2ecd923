"""Decision log and feedback: what the router decided, and what people said about it."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

# Decisions an operator made in the console: logged and marked, but not traffic.
CONSOLE_CHANNELS = ("playground", "console")


class DecisionLogQuerySet(models.QuerySet):
    def for_router(self, router) -> DecisionLogQuerySet:
        return self.filter(router=router)

    def traffic(self) -> DecisionLogQuerySet:
        """Decisions of real traffic: the console's playground and batch left out."""
        return self.exclude(channel__in=CONSOLE_CHANNELS)


class DecisionLog(models.Model):
    # The id is made when the decision is, so callers can send feedback before the row is written.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    router = models.ForeignKey("routing.Router", on_delete=models.CASCADE, related_name="decisions")
    router_version = models.PositiveIntegerField()
    # Which strategy decided: the policy's digest and, once experiments exist, the arm.
    policy_digest = models.CharField(max_length=64, blank=True, default="")
    experiment_arm = models.CharField(max_length=64, blank=True, default="")
    # Not a foreign key: experiments live in their own room and may be deleted; the log keeps it.
    experiment_id = models.PositiveIntegerField(null=True, blank=True)
    query = models.TextField()
    user_ref = models.CharField(
        max_length=200, blank=True, help_text="The calling application's user id."
    )
    session_ref = models.CharField(max_length=200, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    intent = models.CharField(max_length=64, null=True, blank=True)
    handler = models.CharField(max_length=200, null=True, blank=True)
    confidence = models.FloatField()
    calibrated = models.BooleanField(default=False)
    # The query's language as the engine detected it ("" when not detected).
    language = models.CharField(max_length=16, blank=True, default="")
    stage = models.CharField(max_length=16)
    complexity = models.CharField(max_length=8)
    tier = models.CharField(max_length=64, null=True, blank=True)
    model = models.CharField(max_length=200, null=True, blank=True)
    provider = models.CharField(max_length=20, null=True, blank=True)
    estimated_cost_usd = models.FloatField(default=0.0)
    baseline_cost_usd = models.FloatField(default=0.0)
    latency_ms = models.FloatField()
    cached = models.BooleanField(default=False)
    blocked = models.BooleanField(default=False)
    block_reason = models.TextField(blank=True, default="")
    trace = models.JSONField(default=dict, blank=True)
    channel = models.CharField(
        max_length=16, default="api", help_text="api, batch, gateway, playground or console."
    )
    # What the gateway did with the decision (empty when only routed): every provider call in
    # order as {"tier", "model", "provider", "outcome", "latency_ms", "ttft_ms",
    # "prompt_tokens", "completion_tokens", "cost_usd", "error"}, the tier that answered,
    # and the totals the dashboards read without unpacking the attempts.
    attempts = models.JSONField(default=list, blank=True)
    answer_tier = models.CharField(max_length=64, null=True, blank=True)
    escalations = models.PositiveSmallIntegerField(default=0)
    actual_cost_usd = models.FloatField(null=True, blank=True)
    provider_latency_ms = models.FloatField(null=True, blank=True)
    ttft_ms = models.FloatField(null=True, blank=True)
    # Set when the same session asked a similar query soon after: a likely mis-route.
    reasked = models.BooleanField(default=False)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    api_key = models.ForeignKey(
        "routing.APIKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(db_index=True)

    objects = DecisionLogQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["router", "-created_at"], name="decision_router_time"),
            models.Index(
                fields=["router", "intent", "-created_at"], name="decision_router_intent_time"
            ),
            # The decision browser's filters (analytics/review), newest first at 1M rows.
            models.Index(
                fields=["router", "tier", "-created_at"], name="decision_router_tier_time"
            ),
            models.Index(
                fields=["router", "stage", "-created_at"], name="decision_router_stage_time"
            ),
            models.Index(
                fields=["router", "-created_at"],
                condition=models.Q(escalations__gt=0),
                name="decision_router_escalated",
            ),
            # Per-arm results read an experiment's decisions (analytics/experiments/results.py);
            # partial, so the decisions made outside experiments cost it nothing.
            models.Index(
                fields=["experiment_id", "experiment_arm"],
                condition=models.Q(experiment_id__isnull=False),
                name="decision_experiment_arm",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.router_id}:{self.intent} ({self.id})"


class Feedback(models.Model):
    RATINGS = [("up", "up"), ("down", "down")]

    # Not a foreign key: the decision may still be in a worker's log buffer when feedback arrives.
    decision_id = models.UUIDField(db_index=True)
    rating = models.CharField(max_length=4, choices=RATINGS)
    comment = models.TextField(blank=True)
    expected_intent = models.CharField(max_length=64, blank=True)
    api_key = models.ForeignKey(
        "routing.APIKey", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["decision_id", "api_key"], name="feedback_once_per_key"
            ),
            models.UniqueConstraint(fields=["decision_id", "user"], name="feedback_once_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.rating} on {self.decision_id}"


# The evaluations room keeps its models in its own module; imported here so Django registers them.
# Dashboards and alerts keep their models in their rooms; imported here so Django registers them.
from analytics.alerts.models import Alert, AlertSettings, WebhookDelivery  # noqa: E402, F401
from analytics.dashboards.models import (  # noqa: E402, F401
    DailyIntentRollup,
    DailyTierRollup,
    HourlyIntentRollup,
    HourlyRollup,
    HourlyTierRollup,
    OutOfScopeClusters,
    RollupState,
)
from analytics.evaluations.models import (  # noqa: E402, F401
    EvaluationResult,
    EvaluationRun,
    LabelledRow,
    LabelledSet,
)

# The experiments room keeps its models in its own module too.
from analytics.experiments.models import (  # noqa: E402, F401
    DailySpend,
    Experiment,
    ExperimentArm,
    JudgeSettings,
    JudgeVerdict,
    ShadowComparison,
    ShadowTest,
)
from analytics.outcomes.models import Outcome, QualityTraining  # noqa: E402, F401
from analytics.review.models import (  # noqa: E402, F401
    ReviewDecision,
    ReviewEvent,
    ReviewItem,
)
