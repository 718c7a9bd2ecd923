"""Read-models of the review room: the decision browser's page, the queue, the live confusion
matrix with per-intent metrics and the mis-routing rate, clusters of unhandled queries, labels."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from analytics.evaluations import scoring
from analytics.models import CONSOLE_CHANNELS, DecisionLog, Feedback
from analytics.review.models import (
    LABELLED_STATUSES,
    ReviewDecision,
    ReviewItem,
    ReviewReason,
    ReviewStatus,
)
from analytics.services import cursor_page
from routing.models import Router

NO_INTENT = (
    "__none__"  # the filter value for "no intent" (never an intent name: no underscores pair)
)
OUT_OF_SCOPE = scoring.OUT_OF_SCOPE


@dataclass(slots=True)
class DecisionFilter:
    intent: str | None = None  # NO_INTENT: decisions without an intent
    tier: str | None = None
    stage: str | None = None
    confidence_min: float | None = None
    confidence_max: float | None = None
    feedback: str | None = None  # up, down or none
    escalated: bool = False
    reasked: bool = False
    since: datetime | None = None
    until: datetime | None = None
    text: str = ""
    channel: str = "traffic"  # traffic (no console decisions), all, or one channel


def decisions_filtered(router: Router, filters: DecisionFilter) -> QuerySet[DecisionLog]:
    decisions = DecisionLog.objects.for_router(router)
    if filters.channel == "traffic":
        decisions = decisions.exclude(channel__in=CONSOLE_CHANNELS)
    elif filters.channel != "all":
        decisions = decisions.filter(channel=filters.channel)
    if filters.intent == NO_INTENT:
        decisions = decisions.filter(intent__isnull=True)
    elif filters.intent:
        decisions = decisions.filter(intent=filters.intent)
    if filters.tier:
        decisions = decisions.filter(tier=filters.tier)
    if filters.stage:
        decisions = decisions.filter(stage=filters.stage)
    if filters.confidence_min is not None:
        decisions = decisions.filter(confidence__gte=filters.confidence_min)
    if filters.confidence_max is not None:
        decisions = decisions.filter(confidence__lte=filters.confidence_max)
    if filters.feedback in ("up", "down"):
        rated = Feedback.objects.filter(decision_id=OuterRef("pk"), rating=filters.feedback)
        decisions = decisions.filter(Exists(rated))
    elif filters.feedback == "none":
        decisions = decisions.filter(~Exists(Feedback.objects.filter(decision_id=OuterRef("pk"))))
    if filters.escalated:
        decisions = decisions.filter(escalations__gt=0)
    if filters.reasked:
        decisions = decisions.filter(reasked=True)
    if filters.since:
        decisions = decisions.filter(created_at__gte=filters.since)
    if filters.until:
        decisions = decisions.filter(created_at__lt=filters.until)
    if filters.text:
        decisions = decisions.filter(query__icontains=filters.text)
    return decisions


LIST_FIELDS = (
    "id",
    "router_id",
    "query",
    "intent",
    "confidence",
    "stage",
    "tier",
    "channel",
    "escalations",
    "reasked",
    "blocked",
    "created_at",
)


def decisions_page(
    router: Router, filters: DecisionFilter, *, cursor: str | None = None, limit: int = 50
) -> tuple[list[DecisionLog], str | None]:
    """One page, newest first, and the next page's cursor; each row has `rating` (up/down/None)."""
    page, next_cursor = cursor_page(
        decisions_filtered(router, filters).only(*LIST_FIELDS), cursor=cursor, limit=limit
    )
    ratings: dict[uuid.UUID, str] = {}
    for decision_id, rating in Feedback.objects.filter(
        decision_id__in=[row.id for row in page]
    ).values_list("decision_id", "rating"):
        # One "down" among several ratings is what an operator needs to see.
        ratings[decision_id] = "down" if "down" in (rating, ratings.get(decision_id)) else rating
    for row in page:
        row.rating = ratings.get(row.id)
    return page, next_cursor


# Queue -----------------------------------------------------------------------------------------


def queue_items(
    router: Router, *, status: str = ReviewStatus.OPEN, reason: str | None = None
) -> QuerySet[ReviewItem]:
    items = ReviewItem.objects.for_router(router).select_related("reviewed_by")
    if status != "all":
        items = items.filter(status=status)
    if reason:
        items = with_reason(items, reason)
    return items.defer("vector").order_by("-last_seen_at", "-id")


def with_reason(rows: QuerySet, reason: str) -> QuerySet:
    """Items or their decisions whose `reasons` list holds `reason`."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return rows.filter(reasons__contains=[reason])  # JSON containment
    return rows.filter(reasons__icontains=f'"{reason}"')


def queue_counts(router: Router) -> dict[str, int]:
    counts = {status: 0 for status in ReviewStatus.values}
    rows = ReviewItem.objects.for_router(router).order_by().values("status").annotate(n=Count("*"))
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


def item_page(
    items: QuerySet[ReviewItem], *, after: int | None, limit: int = 50
) -> tuple[list[ReviewItem], int | None]:
    """Keyset paging over (-last_seen_at, -id) by the last item's id."""
    if after is not None:
        last = ReviewItem.objects.filter(pk=after).values_list("last_seen_at", flat=True).first()
        if last is not None:
            items = items.filter(Q(last_seen_at__lt=last) | Q(last_seen_at=last, id__lt=after))
    page = list(items[: limit + 1])
    return page[:limit], (page[limit - 1].pk if len(page) > limit else None)


# Live quality ------------------------------------------------------------------------------------


def _label(value: str | None) -> str:
    return OUT_OF_SCOPE if value is None else value


@dataclass(slots=True)
class QualityReport:
    reviewed: int  # reviewed decisions counted
    labels: list[str] = field(default_factory=list)
    counts: list[list[int]] = field(default_factory=list)  # [reviewed][decided]
    per_intent: dict[str, dict] = field(default_factory=dict)
    misrouting: dict = field(default_factory=dict)  # scoring.rate over the sample
    cells: list[dict] = field(default_factory=list)  # off-diagonal cells, largest first


def quality_report(router: Router) -> QualityReport:
    """Decided intent x reviewed intent over every reviewed decision; the mis-routing rate (with its
    95% Wilson interval) from the random sample only, the one part not chosen for looking wrong."""
    links = ReviewDecision.objects.filter(
        item__router=router, item__status__in=LABELLED_STATUSES
    ).values_list("decided_intent", "item__reviewed_intent", "sampled")
    decided, reviewed, sampled = [], [], []
    for decided_intent, reviewed_intent, in_sample in links:
        decided.append(decided_intent)
        reviewed.append(reviewed_intent)
        sampled.append(in_sample)
    wrong_in_sample = sum(
        1 for d, r, s in zip(decided, reviewed, sampled, strict=True) if s and d != r
    )
    report = QualityReport(
        reviewed=len(decided), misrouting=scoring.rate(wrong_in_sample, sum(sampled))
    )
    if not decided:
        return report
    expected = np.array(reviewed, dtype=object)
    predicted = np.array(decided, dtype=object)
    labels, counts = scoring.confusion_matrix(expected, predicted)
    report.labels, report.counts = labels, counts.tolist()
    report.per_intent = scoring.per_intent_metrics(expected, predicted)
    report.cells = sorted(
        (
            {"reviewed": labels[i], "decided": labels[j], "count": int(counts[i, j])}
            for i, j in zip(*np.nonzero(counts), strict=True)
        ),
        key=lambda cell: (cell["reviewed"] == cell["decided"], -cell["count"], cell["reviewed"]),
    )
    return report


def cell_items(router: Router, *, reviewed: str, decided: str) -> QuerySet[ReviewItem]:
    """Reviewed items with a decision decided `decided` and labelled `reviewed` (one matrix cell)."""
    links = ReviewDecision.objects.filter(item__router=router)
    links = (
        links.filter(decided_intent__isnull=True)
        if decided == OUT_OF_SCOPE
        else links.filter(decided_intent=decided)
    )
    items = ReviewItem.objects.for_router(router).labelled().filter(pk__in=links.values("item"))
    items = (
        items.filter(reviewed_intent__isnull=True)
        if reviewed == OUT_OF_SCOPE
        else items.filter(reviewed_intent=reviewed)
    )
    return items.defer("vector").select_related("reviewed_by").order_by("-reviewed_at")


# Suggested intents -------------------------------------------------------------------------------

CLUSTER_REASONS = (ReviewReason.OUT_OF_SCOPE, ReviewReason.LOW_CONFIDENCE)
CLUSTER_SIMILARITY = 0.6
CLUSTER_MIN_SIZE = 3
CLUSTER_INPUT_LIMIT = 5_000


@dataclass(slots=True)
class QueryCluster:
    key: str  # the ids of its items, joined: what "create intent" posts back
    items: list[ReviewItem]
    size: int  # decisions (items' counts) in it
    representatives: list[str]


def vector_clusters(
    vectors: np.ndarray,
    weights: Sequence[int],
    *,
    similarity: float = CLUSTER_SIMILARITY,
    min_size: int = CLUSTER_MIN_SIZE,
    min_members: int = 2,
) -> list[tuple[list[int], int]]:
    """Unit vectors grouped greedily in the order given (put the heaviest first): each joins the
    first cluster whose weighted centroid it is within `similarity` (cosine) of, or opens one.
    Returns (member indexes, nearest the centre first; total weight) for the clusters of at
    least `min_size` weight and `min_members` members, heaviest first."""
    # Preallocated: a cluster's sum and its normalised centre are rewritten in place when an
    # item joins (restacking every centre per item made 5,000 distinct items take 24 s).
    sums = np.zeros(vectors.shape, dtype=np.float32)
    centres = np.zeros(vectors.shape, dtype=np.float32)
    members: list[list[int]] = []
    for index, vector in enumerate(vectors):
        opened = len(members)
        if opened:
            scores = centres[:opened] @ vector
            best = int(np.argmax(scores))
            if scores[best] >= similarity:
                sums[best] += vector * weights[index]
                centres[best] = sums[best] / np.linalg.norm(sums[best])
                members[best].append(index)
                continue
        sums[opened] = vector * weights[index]
        centres[opened] = sums[opened] / np.linalg.norm(sums[opened])
        members.append([index])
    clusters = []
    for cluster, indexes in enumerate(members):
        size = sum(weights[i] for i in indexes)
        if size < min_size or len(indexes) < min_members:
            continue
        centre = centres[cluster]
        clusters.append((sorted(indexes, key=lambda i: -float(vectors[i] @ centre)), size))
    clusters.sort(key=lambda cluster: -cluster[1])
    return clusters


def query_clusters(
    router: Router, *, similarity: float = CLUSTER_SIMILARITY, min_size: int = CLUSTER_MIN_SIZE
) -> list[QueryCluster]:
    """Open out-of-scope and low-confidence items grouped on their vectors (vector_clusters,
    items taken largest count first): clusters of at least `min_size` decisions and two items,
    biggest first, with the queries nearest the centre."""
    items = [
        item
        for item in ReviewItem.objects.for_router(router)
        .open()
        .exclude(vector=None)
        .order_by("-count", "id")[:CLUSTER_INPUT_LIMIT]
        if set(item.reasons) & set(CLUSTER_REASONS)
    ]
    if not items:
        return []
    vectors = np.stack([item.vector_array() for item in items])
    clusters = []
    for indexes, size in vector_clusters(
        vectors, [item.count for item in items], similarity=similarity, min_size=min_size
    ):
        cluster_items = [items[i] for i in indexes]
        clusters.append(
            QueryCluster(
                key=",".join(str(item.pk) for item in cluster_items),
                items=cluster_items,
                size=size,
                representatives=[item.query for item in cluster_items[:5]],
            )
        )
    return clusters


# Reviewed labels ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReviewedLabel:
    text: str
    intent: str | None  # None: out of scope
    reviewer: str
    reviewed_at: datetime | None


def reviewed_labels(router: Router) -> list[ReviewedLabel]:
    """Every labelled item's query and label (the latest review of a text wins), newest first."""
    seen: set[str] = set()
    labels = []
    items = (
        ReviewItem.objects.for_router(router)
        .labelled()
        .select_related("reviewed_by")
        .defer("vector")
        .order_by("-reviewed_at", "-id")
    )
    for item in items:
        text = item.query.strip()
        if text in seen:
            continue
        seen.add(text)
        labels.append(ReviewedLabel(text, item.reviewed_intent, item.reviewer, item.reviewed_at))
    return labels
