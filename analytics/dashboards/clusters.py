"""New out-of-scope clusters for the drift section, computed after each rollup run and stored.

The review queue's intake already embeds every out-of-scope decision (an item per (near-)duplicate
query, with its vector, and one ReviewDecision per decision with its time), so nothing is
encoded here: the out-of-scope decisions of the last five weeks are counted per item, the items
are grouped with the review queue's own clustering (analytics.review.selectors.vector_clusters),
and a cluster is new when the four weeks before the last one had fewer than
CLUSTER_MIN_SIZE of its decisions while the last week had at least that many.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
from django.db.models import Count, Q
from django.utils import timezone

from analytics.dashboards.models import OutOfScopeClusters
from analytics.dashboards.rollups import hour_floor
from analytics.review.models import ReviewDecision, ReviewItem, ReviewReason
from analytics.review.selectors import (
    CLUSTER_INPUT_LIMIT,
    CLUSTER_MIN_SIZE,
    vector_clusters,
    with_reason,
)
from routing.models import Router
from routing.vectors import active_encoder

WEEK = timedelta(days=7)
HISTORY_WEEKS = 4
EXAMPLES = 5
ITEMS_KEPT = 50  # item ids stored per cluster (links into the review queue)


def _item_counts(router: Router, week_start: datetime, end: datetime) -> dict[int, tuple[int, int]]:
    """{item id: (out-of-scope decisions this week, in the four weeks before)}."""
    decisions = with_reason(
        ReviewDecision.objects.filter(
            item__router=router,
            created_at__gte=week_start - HISTORY_WEEKS * WEEK,
            created_at__lt=end,
        ),
        ReviewReason.OUT_OF_SCOPE,
    )
    rows = (
        decisions.order_by()
        .values("item_id")
        .annotate(
            recent=Count("pk", filter=Q(created_at__gte=week_start)),
            previous=Count("pk", filter=Q(created_at__lt=week_start)),
        )
    )
    return {row["item_id"]: (row["recent"], row["previous"]) for row in rows}


def out_of_scope_clusters_compute(
    *, router: Router, now: datetime | None = None
) -> OutOfScopeClusters:
    """Recompute and store one router's new out-of-scope clusters (idempotent: one row per router)."""
    now = now or timezone.now()
    end = hour_floor(now) + timedelta(hours=1)
    week_start = end - WEEK
    counts = _item_counts(router, week_start, end)
    heaviest = sorted(counts, key=lambda pk: (-sum(counts[pk]), pk))[:CLUSTER_INPUT_LIMIT]
    items = sorted(
        ReviewItem.objects.filter(pk__in=heaviest, encoder=active_encoder().name)
        .exclude(vector=None)
        .only("id", "query", "vector"),
        key=lambda item: (-sum(counts[item.pk]), item.pk),
    )
    found, recurring = [], 0
    if items:
        vectors = np.stack([item.vector_array() for item in items])
        weights = [sum(counts[item.pk]) for item in items]
        for indexes, _ in vector_clusters(vectors, weights, min_size=1, min_members=1):
            recent = sum(counts[items[i].pk][0] for i in indexes)
            previous = sum(counts[items[i].pk][1] for i in indexes)
            if recent < CLUSTER_MIN_SIZE:
                continue
            if previous >= CLUSTER_MIN_SIZE:
                recurring += 1
                continue
            members = [items[i] for i in indexes if counts[items[i].pk][0]]
            found.append(
                {
                    "decisions": recent,
                    "previous": previous,
                    "queries": [item.query for item in members[:EXAMPLES]],
                    "items": [item.pk for item in members[:ITEMS_KEPT]],
                }
            )
    values = {
        "computed_at": now,
        "week_start": week_start,
        "week_end": end,
        "decisions": sum(recent for recent, _ in counts.values()),
        "previous_decisions": sum(previous for _, previous in counts.values()),
        "recurring": recurring,
        "clusters": found,
    }
    row, _ = OutOfScopeClusters.objects.update_or_create(router=router, defaults=values)
    return row


def out_of_scope_clusters_compute_all(*, now: datetime | None = None) -> int:
    """Every router's; returns how many new clusters were found in all."""
    return sum(
        len(out_of_scope_clusters_compute(router=router, now=now).clusters)
        for router in Router.objects.order_by("pk")
    )
