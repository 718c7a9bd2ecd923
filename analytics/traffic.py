"""The decision-log reads routing's console shows, installed as routing.decision_hooks at start-up."""

from __future__ import annotations

from django.db.models import Count

from analytics.models import DecisionLog
from analytics.reports import today_start


def traffic_today() -> dict[int, int]:
    """{router id: decisions logged since local midnight} for every router with traffic today."""
    rows = (
        DecisionLog.objects.traffic()
        .filter(created_at__gte=today_start())
        .order_by()
        .values("router")
        .annotate(count=Count("*"))
    )
    return {row["router"]: row["count"] for row in rows}


def recent_queries(router, limit: int) -> list[str]:
    """Up to `limit` distinct logged queries of `router`, newest first."""
    seen: dict[str, None] = {}
    # A window of 3x the limit is enough for traffic that repeats, and keeps the read bounded.
    for text in (
        DecisionLog.objects.traffic()
        .for_router(router)
        .order_by("-created_at")
        .values_list("query", flat=True)[: limit * 3]
    ):
        seen.setdefault(text)
        if len(seen) == limit:
            break
    return list(seen)
