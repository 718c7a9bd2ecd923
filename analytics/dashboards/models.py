"""Hourly and daily rollups of the decision log: what every dashboard reads (never the raw log).

Tables with the same measures: `HourlyRollup` keeps every dimension (router, hour, intent,
tier, stage, channel, experiment id and arm: what per-arm results read); `HourlyTierRollup`
keeps only router, hour, tier and channel, a few rows per hour; `HourlyIntentRollup` counts
decisions per router, hour, intent and channel for the per-intent charts and drift. All three
are rewritten together, one hour at a time, by analytics.dashboards.rollups, which then rewrites
the day's `DailyTierRollup` and `DailyIntentRollup` rows from the hourly ones: a month's charts
read 30 rows per tier instead of 720. `OutOfScopeClusters` is the drift section's new
out-of-scope clusters, computed after each rollup run.
"""

from __future__ import annotations

from django.db import models

# Console traffic (playground, console tools) is not what callers sent: excluded by default.
NON_TRAFFIC_CHANNELS = ("playground", "console")


class RollupQuerySet(models.QuerySet):
    def traffic(self, *, include_console: bool = False) -> RollupQuerySet:
        return self if include_console else self.exclude(channel__in=NON_TRAFFIC_CHANNELS)


class RollupMeasures(models.Model):
    """Counters, sums (and sums of squares, for a mean's interval) and latency histograms.

    Histograms are sparse {bucket index: count} over analytics.dashboards.histograms' buckets.
    """

    router = models.ForeignKey("routing.Router", on_delete=models.CASCADE, related_name="+")
    tier = models.CharField(max_length=64, blank=True, default="")  # "" = no tier (blocked)
    channel = models.CharField(max_length=16)
    decisions = models.PositiveIntegerField()
    cached = models.PositiveIntegerField(default=0)
    blocked = models.PositiveIntegerField(default=0)
    out_of_scope = models.PositiveIntegerField(default=0)  # intent null and not blocked
    escalated = models.PositiveIntegerField(default=0)  # decisions with escalations > 0
    escalation_count = models.PositiveIntegerField(default=0)
    reasked = models.PositiveIntegerField(default=0)
    thumbs_down = models.PositiveIntegerField(default=0)  # decisions with a "down" Feedback row
    thumbs_up = models.PositiveIntegerField(default=0)
    llm_asked = models.PositiveIntegerField(default=0)  # the LLM stage ran (trace stage "llm")
    llm_failed = models.PositiveIntegerField(default=0)  # ... and failed or was skipped
    # Cost: estimated (every decision), baseline (most expensive tier), actual (gateway only).
    estimated_cost_sum = models.FloatField(default=0.0)
    estimated_cost_sq_sum = models.FloatField(default=0.0)
    baseline_cost_sum = models.FloatField(default=0.0)
    actual_cost_count = models.PositiveIntegerField(default=0)  # decisions with actual_cost_usd
    actual_cost_sum = models.FloatField(default=0.0)
    actual_cost_sq_sum = models.FloatField(default=0.0)
    # Latency (ms): routing decision (every decision), provider and time to first token (gateway).
    latency_sum = models.FloatField(default=0.0)
    latency_sq_sum = models.FloatField(default=0.0)
    latency_hist = models.JSONField(default=dict)
    provider_latency_count = models.PositiveIntegerField(default=0)
    provider_latency_sum = models.FloatField(default=0.0)
    provider_latency_sq_sum = models.FloatField(default=0.0)
    provider_latency_hist = models.JSONField(default=dict)
    ttft_count = models.PositiveIntegerField(default=0)
    ttft_sum = models.FloatField(default=0.0)
    ttft_sq_sum = models.FloatField(default=0.0)
    ttft_hist = models.JSONField(default=dict)
    prompt_tokens = models.PositiveBigIntegerField(default=0)
    completion_tokens = models.PositiveBigIntegerField(default=0)
    languages = models.JSONField(default=dict)  # {language: decisions}; "" = not detected

    objects = RollupQuerySet.as_manager()

    class Meta:
        abstract = True


class HourlyRollup(RollupMeasures):
    hour = models.DateTimeField()
    intent = models.CharField(max_length=64, blank=True, default="")  # "" = no intent
    stage = models.CharField(max_length=16)
    experiment_id = models.PositiveIntegerField(null=True, blank=True)
    experiment_arm = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["router", "hour"], name="rollup_router_hour")]

    def __str__(self) -> str:
        return (
            f"{self.router_id} {self.hour:%Y-%m-%d %H}h {self.intent}/{self.tier}: {self.decisions}"
        )


class HourlyTierRollup(RollupMeasures):
    hour = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["router", "hour"], name="tier_rollup_router_hour")]

    def __str__(self) -> str:
        return f"{self.router_id} {self.hour:%Y-%m-%d %H}h {self.tier}: {self.decisions}"


class HourlyIntentRollup(models.Model):
    """Decisions per router, hour, intent and channel: what per-intent charts and drift read."""

    router = models.ForeignKey("routing.Router", on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField()
    intent = models.CharField(max_length=64, blank=True, default="")  # "" = no intent
    channel = models.CharField(max_length=16)
    decisions = models.PositiveIntegerField()

    objects = RollupQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["router", "hour"], name="intent_rollup_router_hour")]

    def __str__(self) -> str:
        return f"{self.router_id} {self.hour:%Y-%m-%d %H}h {self.intent}: {self.decisions}"


class DailyTierRollup(RollupMeasures):
    """HourlyTierRollup summed over a UTC day: rewritten from the day's hourly rows."""

    day = models.DateTimeField()  # 00:00 UTC

    class Meta:
        indexes = [models.Index(fields=["router", "day"], name="tier_rollup_router_day")]

    def __str__(self) -> str:
        return f"{self.router_id} {self.day:%Y-%m-%d} {self.tier}: {self.decisions}"


class DailyIntentRollup(models.Model):
    """HourlyIntentRollup summed over a UTC day: rewritten from the day's hourly rows."""

    router = models.ForeignKey("routing.Router", on_delete=models.CASCADE, related_name="+")
    day = models.DateTimeField()  # 00:00 UTC
    intent = models.CharField(max_length=64, blank=True, default="")  # "" = no intent
    channel = models.CharField(max_length=16)
    decisions = models.PositiveIntegerField()

    objects = RollupQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["router", "day"], name="intent_rollup_router_day")]

    def __str__(self) -> str:
        return f"{self.router_id} {self.day:%Y-%m-%d} {self.intent}: {self.decisions}"


class OutOfScopeClusters(models.Model):
    """One router's out-of-scope queries of the last week grouped by vector similarity, the ones
    that are new against the four weeks before (analytics.dashboards.clusters): what the drift
    section shows. Rewritten after each rollup run; `clusters` is a list of plain dicts."""

    router = models.OneToOneField("routing.Router", on_delete=models.CASCADE, related_name="+")
    computed_at = models.DateTimeField()
    week_start = models.DateTimeField()
    week_end = models.DateTimeField()
    decisions = models.PositiveIntegerField(default=0)  # out-of-scope decisions this week
    previous_decisions = models.PositiveIntegerField(default=0)  # ... in the four weeks before
    recurring = models.PositiveIntegerField(default=0)  # this week's clusters that are not new
    clusters = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"new out-of-scope clusters of router {self.router_id}"


class RollupState(models.Model):
    """One row per router: the lock a rollup holds while it rewrites hours, and what it last did."""

    router = models.OneToOneField("routing.Router", on_delete=models.CASCADE, related_name="+")
    last_run_at = models.DateTimeField(null=True, blank=True)
    # Feedback changed after this re-rolls its decisions' hours on the next run.
    feedback_seen_until = models.DateTimeField(null=True, blank=True)
    hours_rewritten = models.PositiveIntegerField(default=0)
    # Raw decisions before this were deleted by retention: hours before it are never rewritten
    # from the raw log again (their rollups are all that is left), whatever the retention says now.
    pruned_before = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"rollup state of router {self.router_id}"
