"""Labelled sets (text + expected intent, None = out of scope), evaluation runs and their per-query results."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class LabelledSetQuerySet(models.QuerySet):
    def confirmed(self) -> LabelledSetQuerySet:
        return self.filter(confirmed=True)


class LabelledSet(models.Model):
    """Queries with the intent they should route to; unconfirmed until the operator saw the report."""

    router = models.ForeignKey("routing.Router", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    source = models.CharField(max_length=16, default="upload", help_text="upload or api.")
    confirmed = models.BooleanField(default=False)
    row_count = models.PositiveIntegerField(default=0)
    # The upload's report: counts per refusal kind and the first refused rows.
    refusals = models.JSONField(default=dict, blank=True)
    held_out_fraction = models.FloatField(default=0.0)
    split_seed = models.IntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = LabelledSetQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class LabelledRow(models.Model):
    labelled_set = models.ForeignKey(LabelledSet, on_delete=models.CASCADE, related_name="rows")
    position = models.PositiveIntegerField()
    text = models.TextField()
    intent = models.CharField(max_length=64, null=True, blank=True, help_text="None: out of scope.")
    # Never added as an example: the part an evaluation can trust.
    held_out = models.BooleanField(default=False)

    class Meta:
        ordering = ["labelled_set", "position"]
        # Duplicates are refused by the upload's check; no unique index on a 2,000-character text
        # (PostgreSQL's btree rows stop at ~2.7 kB, which multibyte text can pass).
        indexes = [models.Index(fields=["labelled_set", "position"], name="labelled_row_position")]

    def __str__(self) -> str:
        return f"{self.text[:60]} -> {self.intent or 'out of scope'}"


class RunState(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED_STATES = (RunState.DONE, RunState.FAILED, RunState.CANCELLED)
SET_PARTS = ("all", "held_out", "rest")


class EvaluationRun(models.Model):
    """One labelled set routed by one router version; progress and results live on this row."""

    router = models.ForeignKey("routing.Router", on_delete=models.CASCADE, related_name="+")
    labelled_set = models.ForeignKey(LabelledSet, on_delete=models.CASCADE, related_name="runs")
    part = models.CharField(max_length=8, default="all", help_text="all, held_out or rest.")
    version_number = models.PositiveIntegerField(help_text="The router version evaluated.")
    # Unsaved policy edits (Router.POLICY_FIELDS values, fallbacks by name); None: the version's own.
    policy_changes = models.JSONField(null=True, blank=True)
    use_llm = models.BooleanField(default=False)
    state = models.CharField(max_length=10, choices=RunState.choices, default=RunState.QUEUED)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    suggestions = models.JSONField(default=dict, blank=True)
    produced_version = models.PositiveIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"evaluation {self.pk} ({self.state})"

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES

    @property
    def seconds_left(self) -> float | None:
        """Time left at the pace so far (None before the first batch or once finished)."""
        if self.finished or not self.started_at or not self.done:
            return None
        elapsed = (timezone.now() - self.started_at).total_seconds()
        return elapsed / self.done * (self.total - self.done)

    @property
    def seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class EvaluationResult(models.Model):
    """One query of a run: what was expected, what the router decided and the scores behind it."""

    run = models.ForeignKey(EvaluationRun, on_delete=models.CASCADE, related_name="results")
    position = models.PositiveIntegerField()
    text = models.TextField()
    expected = models.CharField(max_length=64, null=True, blank=True)
    predicted = models.CharField(max_length=64, null=True, blank=True)
    top_intent = models.CharField(max_length=64, null=True, blank=True)
    confidence = models.FloatField()
    # Turned away by the in-domain gate (out of domain) whatever the threshold.
    gated = models.BooleanField(default=False)
    stage = models.CharField(max_length=16)
    tier = models.CharField(max_length=64, null=True, blank=True)
    estimated_cost_usd = models.FloatField(default=0.0)
    baseline_cost_usd = models.FloatField(default=0.0)

    class Meta:
        ordering = ["run", "position"]
        indexes = [models.Index(fields=["run", "position"], name="eval_result_run_position")]

    def __str__(self) -> str:
        return f"{self.text[:60]}: {self.expected} -> {self.predicted}"
