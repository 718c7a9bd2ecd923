"""Review queue: one item per (near-)duplicate query that needs a person's label, the decisions it
stands for, and every action taken on it (the audit trail, which undo reads)."""

from __future__ import annotations

import numpy as np
from django.conf import settings
from django.db import models


class ReviewStatus(models.TextChoices):
    OPEN = "open", "open"
    CONFIRMED = "confirmed", "right"  # the decision was right
    RELABELLED = "relabelled", "relabelled"  # the right intent is reviewed_intent
    OUT_OF_SCOPE = "out_of_scope", "out of scope"
    ADDED = "added", "added as example"  # relabelled, and a new example (a new version)
    DISMISSED = "dismissed", "dismissed"  # no label: not worth one (noise, test traffic)


# Statuses that carry a label (reviewed_intent; None = out of scope).
LABELLED_STATUSES = (
    ReviewStatus.CONFIRMED,
    ReviewStatus.RELABELLED,
    ReviewStatus.OUT_OF_SCOPE,
    ReviewStatus.ADDED,
)


class ReviewReason(models.TextChoices):
    THUMBS_DOWN = "thumbs_down", "thumbs down"
    REASKED = "reasked", "re-asked"
    LOW_CONFIDENCE = "low_confidence", "low confidence"
    DISAGREEMENT = "disagreement", "LLM vs embedding"
    OUT_OF_SCOPE = "out_of_scope", "out of scope"
    ESCALATED = "escalated", "escalated"
    SAMPLE = "sample", "random sample"
    MANUAL = "manual", "sent to review"


class ReviewAction(models.TextChoices):
    CONFIRM = "confirm", "confirm"
    RELABEL = "relabel", "relabel"
    OUT_OF_SCOPE = "out_of_scope", "out of scope"
    ADD_EXAMPLE = "add_example", "add as example"
    DISMISS = "dismiss", "dismiss"


ACTION_STATUS = {
    ReviewAction.CONFIRM: ReviewStatus.CONFIRMED,
    ReviewAction.RELABEL: ReviewStatus.RELABELLED,
    ReviewAction.OUT_OF_SCOPE: ReviewStatus.OUT_OF_SCOPE,
    ReviewAction.ADD_EXAMPLE: ReviewStatus.ADDED,
    ReviewAction.DISMISS: ReviewStatus.DISMISSED,
}


class ReviewItemQuerySet(models.QuerySet):
    def for_router(self, router) -> ReviewItemQuerySet:
        return self.filter(router=router)

    def open(self) -> ReviewItemQuerySet:
        return self.filter(status=ReviewStatus.OPEN)

    def labelled(self) -> ReviewItemQuerySet:
        return self.filter(status__in=LABELLED_STATUSES)


class ReviewItem(models.Model):
    router = models.ForeignKey("routing.Router", on_delete=models.CASCADE, related_name="+")
    # Not a foreign key (as Feedback): a thumbs-down can arrive while the row is in a log buffer.
    decision_id = models.UUIDField(help_text="The first decision this item stands for.")
    query = models.TextField()
    # sha256 of the normalised query: exact duplicates collapse without comparing vectors.
    query_key = models.CharField(max_length=64)
    vector = models.BinaryField(null=True, blank=True)
    encoder = models.CharField(max_length=64, blank=True)
    reasons = models.JSONField(default=list, blank=True)
    decided_intent = models.CharField(max_length=64, null=True, blank=True)
    confidence = models.FloatField(default=0.0)
    suggested_intent = models.CharField(max_length=64, null=True, blank=True)
    suggestion_source = models.CharField(
        max_length=16, blank=True, help_text="feedback, llm, nearest"
    )
    count = models.PositiveIntegerField(default=1, help_text="Decisions collapsed into this item.")
    status = models.CharField(
        max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.OPEN
    )
    reviewed_intent = models.CharField(max_length=64, null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_label = models.CharField(max_length=200, blank=True, help_text="An API key's name.")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now_add=True)

    objects = ReviewItemQuerySet.as_manager()

    class Meta:
        ordering = ["-last_seen_at", "-id"]
        indexes = [
            models.Index(fields=["router", "status", "-last_seen_at"], name="review_item_queue"),
            models.Index(fields=["router", "query_key"], name="review_item_query_key"),
            models.Index(fields=["decision_id"], name="review_item_decision"),
        ]

    def __str__(self) -> str:
        return f"{self.query[:60]} ({self.status})"

    @property
    def reviewer(self) -> str:
        return self.reviewed_by.get_username() if self.reviewed_by else self.reviewed_label

    @property
    def reason_labels(self) -> list[str]:
        return [ReviewReason(r).label for r in self.reasons if r in ReviewReason.values]

    def vector_array(self) -> np.ndarray | None:
        return np.frombuffer(bytes(self.vector), dtype=np.float32) if self.vector else None


class ReviewDecision(models.Model):
    """One decision collapsed into an item, as it was decided (the confusion matrix counts these)."""

    item = models.ForeignKey(ReviewItem, on_delete=models.CASCADE, related_name="decisions")
    decision_id = models.UUIDField(unique=True)
    decided_intent = models.CharField(max_length=64, null=True, blank=True)
    reasons = models.JSONField(default=list, blank=True)
    # In the uniform random sample of traffic: only these estimate the mis-routing rate.
    sampled = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.decision_id} -> item {self.item_id}"


class ReviewEvent(models.Model):
    """The audit trail: who did what to an item, when, and what it was before (for undo)."""

    item = models.ForeignKey(ReviewItem, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=16, choices=ReviewAction.choices)
    intent = models.CharField(max_length=64, null=True, blank=True)
    status_before = models.CharField(max_length=16)
    reviewed_intent_before = models.CharField(max_length=64, null=True, blank=True)
    # The router's version right after the action: undo is allowed while it is still current.
    router_version = models.PositiveIntegerField()
    example = models.ForeignKey(
        "routing.Example", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    moved_from = models.CharField(
        max_length=64, blank=True, help_text="The intent an existing example was moved from."
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} on item {self.item_id}"

    @property
    def author(self) -> str:
        return self.user.get_username() if self.user else (self.author_label or "system")
