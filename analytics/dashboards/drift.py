"""Drift: this week's intent and tier distributions against the previous four weeks' (from the
rollups), and the new out-of-scope clusters the rollup task stored (analytics.dashboards.clusters)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.urls import reverse

from analytics.dashboards.models import OutOfScopeClusters
from analytics.dashboards.reports import (
    INTENT_ROLLUPS,
    NO_INTENT,
    NO_TIER,
    TIER_ROLLUPS,
    Table,
    rollup_parts,
    rollup_sums,
)
from analytics.dashboards.rollups import hour_floor
from analytics.dashboards.stats import jensen_shannon
from analytics.dashboards.timespan import Span
from analytics.review.selectors import CLUSTER_MIN_SIZE, CLUSTER_SIMILARITY
from analytics.review.selectors import NO_INTENT as NO_INTENT_FILTER

WEEK = timedelta(days=7)
DEFAULT_THRESHOLD = 0.10


@dataclass
class Drift:
    dimension: str  # "intent" or "tier"
    divergence: float | None  # None: one of the periods has no traffic
    this_week: dict[str, int]
    previous: dict[str, int]  # the four weeks before, summed
    table: Table


def _counts(levels, column: str, router, start: datetime, end: datetime) -> dict[str, int]:
    parts = rollup_parts(levels, Span(start, end), router, per_bucket=False)
    empty = NO_INTENT if column == "intent" else NO_TIER
    return {
        (name or empty): sums["n"]
        for (name,), sums in rollup_sums(parts, (column,), n="decisions").items()
    }


def drift_of(router, now: datetime) -> list[Drift]:
    end = hour_floor(now) + timedelta(hours=1)
    week_start, history_start = end - WEEK, end - 5 * WEEK
    found = []
    for dimension, levels in (("intent", INTENT_ROLLUPS), ("tier", TIER_ROLLUPS)):
        this_week = _counts(levels, dimension, router, week_start, end)
        previous = _counts(levels, dimension, router, history_start, week_start)
        divergence = jensen_shannon(this_week, previous)
        table = Table(
            f"drift_{dimension}",
            f"{dimension.title()} distribution: this week vs the previous four weeks",
            (dimension, "this week", "this week %", "previous 4 weeks", "previous %"),
            note="Always the last 7 days against the 28 before (the time range does not apply). "
            "Jensen-Shannon divergence (0 = same mix, 1 = disjoint): "
            + ("n/a (a period has no traffic)" if divergence is None else f"{divergence:.4f}"),
        )
        this_total, previous_total = sum(this_week.values()), sum(previous.values())
        for name in sorted(set(this_week) | set(previous), key=lambda n: -this_week.get(n, 0)):
            table.rows.append(
                (
                    name,
                    this_week.get(name, 0),
                    round(100 * this_week.get(name, 0) / this_total, 2) if this_total else None,
                    previous.get(name, 0),
                    round(100 * previous.get(name, 0) / previous_total, 2)
                    if previous_total
                    else None,
                )
            )
        found.append(Drift(dimension, divergence, this_week, previous, table))
    return found


def new_clusters_table(router) -> Table:
    """The stored new out-of-scope clusters (analytics.dashboards.clusters), biggest first."""
    stored = OutOfScopeClusters.objects.select_related("router").order_by("router__slug")
    if router is not None:
        stored = stored.filter(router=router)
    table = Table(
        "drift_new_clusters",
        "New out-of-scope clusters: this week's out-of-scope queries unlike the previous four weeks'",
        ("router", "decisions this week", "previous 4 weeks", "example queries"),
    )
    computed = list(stored)
    found = sorted(
        ((row, cluster) for row in computed for cluster in row.clusters),
        key=lambda pair: (-pair[1]["decisions"], pair[0].router.slug),
    )
    for row, cluster in found:
        slug = row.router.slug
        table.rows.append(
            (slug, cluster["decisions"], cluster["previous"], " · ".join(cluster["queries"]))
        )
        browse = {
            "intent": NO_INTENT_FILTER,
            "text": cluster["queries"][0][:200],
            "since": f"{row.week_start:%Y-%m-%dT%H:%M}",
        }
        table.links.append(
            [
                ("decisions", reverse("review:decisions", args=[slug]) + "?" + urlencode(browse)),
                ("review", reverse("review:item", args=[slug, cluster["items"][0]])),
            ]
        )
    if not computed:
        state = "Not computed yet (after the next rollup run)"
    else:
        latest = max(row.computed_at for row in computed)
        recurring = sum(row.recurring for row in computed)
        state = (
            f"Computed {latest:%Y-%m-%d %H:%M} UTC from "
            f"{sum(row.decisions for row in computed)} out-of-scope decisions this week and "
            f"{sum(row.previous_decisions for row in computed)} in the four weeks before; "
            f"{recurring} cluster{'s' if recurring != 1 else ''} of this week seen before left out"
        )
    table.note = (
        "The last 7 days' out-of-scope queries grouped by query vector (the review queue's "
        f"clustering: cosine >= {CLUSTER_SIMILARITY} to a cluster's centre); new: at least "
        f"{CLUSTER_MIN_SIZE} decisions this week and fewer than {CLUSTER_MIN_SIZE} in the four "
        f"weeks before. Open: the first example's decisions in the decision browser, its item "
        f"in the review queue. {state}."
    )
    return table
