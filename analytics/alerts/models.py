"""Alerts evaluated on each rollup, their per-router settings and webhook deliveries."""

from __future__ import annotations

from django.db import models


class AlertSettings(models.Model):
    """A router's alert bars and its optional webhook (JSON POST, HMAC-SHA256 signed, retried)."""

    router = models.OneToOneField(
        "routing.Router", on_delete=models.CASCADE, related_name="alert_settings"
    )
    escalation_rise_points = models.FloatField(
        default=2.0,
        help_text="Alert when a tier's escalation rate rises more than this many "
        "percentage points over the previous week.",
    )
    thumbs_down_bar = models.FloatField(
        default=0.10,
        help_text="Alert when the week's thumbs-down rate (of rated decisions "
        "counted over all decisions) is over this fraction.",
    )
    drift_threshold = models.FloatField(
        default=0.10,
        help_text="Jensen-Shannon divergence (0-1) of this week's intent or tier "
        "distribution against the previous four weeks'.",
    )
    monthly_budget_usd = models.FloatField(
        null=True,
        blank=True,
        help_text="Alert when the month's spend (actual, else estimated) "
        "passes this; empty for no budget.",
    )
    webhook_url = models.URLField(blank=True, max_length=500)
    webhook_secret = models.CharField(
        max_length=200,
        blank=True,
        help_text="Signs each POST: X-Semroute-Signature is "
        "sha256=HMAC-SHA256(secret, timestamp + '.' + body).",
    )

    def __str__(self) -> str:
        return f"alert settings of router {self.router_id}"


class AlertKind(models.TextChoices):
    ESCALATION_RISE = "escalation_rise", "Escalation rate up"
    THUMBS_DOWN = "thumbs_down", "Thumbs-down rate over the bar"
    DRIFT = "drift", "Distribution drift"
    BUDGET = "budget", "Monthly budget passed"
    DEAD_LETTERS = "dead_letters", "Decisions in the dead-letter"


class AlertQuerySet(models.QuerySet):
    def open(self) -> AlertQuerySet:
        return self.filter(resolved_at__isnull=True)


class Alert(models.Model):
    # Null router: an installation-wide alert (the decision log's dead-letters).
    router = models.ForeignKey(
        "routing.Router", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    subject = models.CharField(max_length=64, blank=True, default="")  # a tier, "intent", "tier"
    value = models.FloatField()
    threshold = models.FloatField()
    message = models.TextField()
    opened_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    objects = AlertQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at"]
        indexes = [models.Index(fields=["resolved_at", "router"], name="alert_open_router")]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject} on router {self.router_id}"


class WebhookDelivery(models.Model):
    class State(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"  # gave up after MAX_ATTEMPTS

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    url = models.URLField(max_length=500)
    event = models.CharField(max_length=16)  # "opened" or "resolved"
    payload = models.JSONField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True, default="")
    next_attempt_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.event} of alert {self.alert_id} to {self.url}: {self.state}"
