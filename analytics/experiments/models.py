"""Experiments (A/B arms with a control), shadow tests, LLM-judge verdicts and their daily budget."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Status(models.TextChoices):
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    PROMOTED = "promoted"


ENDED = (Status.STOPPED, Status.PROMOTED)
STICKY_CHOICES = [("user_id", "user_id"), ("session_id", "session_id")]


class Experiment(models.Model):
    """Live traffic split between arms by a sticky hash; one running experiment per router."""

    router = models.ForeignKey("routing.Router", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PAUSED)
    sticky_by = models.CharField(max_length=16, choices=STICKY_CHOICES, default="user_id")
    control_percent = models.FloatField(default=5.0)
    # [[first bucket, end bucket, arm name], ...] over 10,000 buckets (routing/engine/experiments.py)
    allocation = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    promoted_arm = models.CharField(max_length=64, blank=True)
    promoted_version = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["router"],
                condition=Q(status="running"),
                name="experiment_one_running_per_router",
            )
        ]

    def __str__(self) -> str:
        return self.name


class ExperimentArm(models.Model):
    """One arm: a router version, policy changes over it, both, or neither (the current config)."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="arms")
    name = models.CharField(max_length=64)
    position = models.PositiveSmallIntegerField(default=0)
    weight = models.FloatField(default=1.0)
    version = models.PositiveIntegerField(null=True, blank=True)
    # Router.POLICY_FIELDS values (fallbacks by name) applied over the version's policy.
    policy = models.JSONField(default=dict, blank=True)
    control = models.BooleanField(default=False)
    # The results' counters (analytics/experiments/results.py COUNT_FIELDS) and a latency
    # histogram of this arm's decisions that retention deleted.
    pruned_totals = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["experiment", "position"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "name"], name="experiment_arm_name")
        ]

    def __str__(self) -> str:
        return self.name


class ShadowTest(models.Model):
    """A candidate routes a sample of live traffic off the request path; nobody sees its answer."""

    router = models.ForeignKey("routing.Router", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    version = models.PositiveIntegerField(null=True, blank=True)
    policy = models.JSONField(default=dict, blank=True)
    sample_percent = models.FloatField(default=10.0)
    # Counted by the shadow worker: dropped = the queue was full; over_budget = the day's budget.
    routed = models.PositiveIntegerField(default=0)
    dropped = models.PositiveIntegerField(default=0)
    over_budget = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    promoted_version = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["router"],
                condition=Q(status="running"),
                name="shadow_one_running_per_router",
            )
        ]

    def __str__(self) -> str:
        return self.name


class ShadowComparison(models.Model):
    """One live decision next to the candidate's decision for the same query."""

    shadow = models.ForeignKey(ShadowTest, on_delete=models.CASCADE, related_name="comparisons")
    decision_id = models.UUIDField()
    query = models.TextField()
    live_intent = models.CharField(max_length=64, null=True, blank=True)
    live_tier = models.CharField(max_length=64, null=True, blank=True)
    live_cost_usd = models.FloatField(default=0.0)
    live_quality = models.FloatField(null=True, blank=True)
    candidate_intent = models.CharField(max_length=64, null=True, blank=True)
    candidate_tier = models.CharField(max_length=64, null=True, blank=True)
    candidate_cost_usd = models.FloatField(default=0.0)
    candidate_quality = models.FloatField(null=True, blank=True)
    agreed = models.BooleanField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["shadow", "decision_id"], name="shadow_decision_once")
        ]

    def __str__(self) -> str:
        return (
            f"{self.live_intent}/{self.live_tier} vs {self.candidate_intent}/{self.candidate_tier}"
        )


class JudgeSettings(models.Model):
    """Per router: the judge's sample, its tier, and the daily budget judge and shadow share."""

    router = models.OneToOneField("routing.Router", on_delete=models.CASCADE, related_name="+")
    enabled = models.BooleanField(default=True)
    sample_percent = models.FloatField(default=2.0)
    # Blank: the most expensive enabled tier judges.
    judge_tier = models.CharField(max_length=64, blank=True)
    daily_budget_usd = models.FloatField(default=1.0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"judge {self.sample_percent:g}% of router {self.router_id}"


class DailySpend(models.Model):
    """What the judge and shadow spent on one router on one (UTC) day, and what the budget stopped."""

    router = models.ForeignKey("routing.Router", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    judge_usd = models.FloatField(default=0.0)
    shadow_usd = models.FloatField(default=0.0)
    judge_calls = models.PositiveIntegerField(default=0)
    skipped_over_budget = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["router", "day"], name="daily_spend_router_day")
        ]

    def __str__(self) -> str:
        return f"router {self.router_id} on {self.day}"


class Verdict(models.TextChoices):
    # The sampled (cheaper) answer compared with the strongest tier's answer.
    BETTER = "better"
    SAME = "same"
    WORSE = "worse"
    INVALID = "invalid"  # the judge's reply was not a valid verdict


class JudgeVerdict(models.Model):
    """A sampled gateway answer, the strongest tier's answer to the same messages, and the verdict."""

    STATES = [("queued", "queued"), ("running", "running"), ("done", "done"), ("failed", "failed")]

    router = models.ForeignKey("routing.Router", on_delete=models.CASCADE, related_name="+")
    decision_id = models.UUIDField(unique=True)
    state = models.CharField(max_length=8, choices=STATES, default="queued")
    query = models.TextField()
    messages = models.JSONField(default=list)
    intent = models.CharField(max_length=64, null=True, blank=True)
    tier = models.CharField(max_length=64, help_text="The tier whose answer is judged.")
    answer = models.TextField()
    strong_tier = models.CharField(max_length=64, blank=True)
    strong_answer = models.TextField(blank=True)
    judge_tier = models.CharField(max_length=64, blank=True)
    # True when the judged answer was shown first ("A"): position bias is measured from this.
    sampled_first = models.BooleanField(default=True)
    verdict = models.CharField(max_length=8, choices=Verdict.choices, blank=True)
    # The position the judge preferred: "A", "B" or "same" ("" when invalid).
    preferred_position = models.CharField(max_length=4, blank=True)
    reason = models.TextField(blank=True)
    raw_reply = models.TextField(blank=True)
    cost_usd = models.FloatField(default=0.0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    judged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["router", "-created_at"], name="judge_router_time")]

    def __str__(self) -> str:
        return f"{self.tier}: {self.verdict or self.state}"
