"""Outcome records (was this tier's answer good for this query?) and quality-head trainings."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

OUTCOME_SOURCES = ("import", "api", "thumbs", "escalation", "reask", "judge", "review")
MAX_OUTCOME_QUERY_CHARS = 8000


class OutcomeQuerySet(models.QuerySet):
    def for_router(self, router) -> OutcomeQuerySet:
        return self.filter(router=router)

    def needing_vectors(self, encoder_name: str) -> OutcomeQuerySet:
        return self.exclude(encoder=encoder_name) | self.filter(vector__isnull=True)


class Outcome(models.Model):
    """How well one tier answered one query: good/bad or a score in 0-1 (1 = as good as it gets)."""

    router = models.ForeignKey("routing.Router", on_delete=models.CASCADE, related_name="+")
    query = models.TextField()
    tier = models.CharField(max_length=64, help_text="The tier's name (kept if it is renamed).")
    score = models.FloatField(help_text="1.0 good, 0.0 bad, or a judge's score in 0-1.")
    good = models.BooleanField(null=True, blank=True, help_text="None when only a score was given.")
    source = models.CharField(max_length=16, choices=[(s, s) for s in OUTCOME_SOURCES])
    # The decision it is about, when there is one (automatic sources; never a foreign key: the
    # decision may still sit in a worker's log buffer).
    decision_id = models.UUIDField(null=True, blank=True, db_index=True)
    vector = models.BinaryField(null=True, blank=True)  # float32, made by `encoder`
    encoder = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = OutcomeQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["router", "tier"], name="outcome_router_tier")]
        constraints = [
            # One automatic outcome per decision, tier and source: collecting twice is harmless.
            models.UniqueConstraint(
                fields=["router", "decision_id", "tier", "source"],
                condition=models.Q(decision_id__isnull=False),
                name="outcome_once_per_decision",
            ),
            models.CheckConstraint(
                condition=models.Q(score__gte=0.0, score__lte=1.0), name="outcome_score_unit"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tier} {self.score:g} ({self.source})"


class TrainingState(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class QualityTraining(models.Model):
    """One fit of the quality predictor; progress, held-out metrics and any refusal on this row."""

    router = models.ForeignKey("routing.Router", on_delete=models.CASCADE, related_name="+")
    method = models.CharField(max_length=16, default="logistic", help_text="logistic or knn.")
    held_out_fraction = models.FloatField(default=0.3)
    seed = models.IntegerField(default=0)
    state = models.CharField(
        max_length=10, choices=TrainingState.choices, default=TrainingState.QUEUED
    )
    phase = models.CharField(max_length=40, blank=True, help_text="What it is doing now.")
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    head_id = models.PositiveIntegerField(null=True, blank=True, help_text="The installed head.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"quality training {self.pk} ({self.state})"

    @property
    def finished(self) -> bool:
        return self.state in (TrainingState.DONE, TrainingState.FAILED)
