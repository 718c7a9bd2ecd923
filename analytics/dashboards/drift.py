"""Drift: this week's intent and tier distributions against the previous four weeks' (from rollups)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

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
