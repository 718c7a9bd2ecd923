"""A dashboard section's tables, cached until the scope's next rollup run (they change only then).

The rollup task warms the presets every page opens with (7 and 30 days), so the first viewer
after a rollup does not pay for reading a month of rollups; other ranges are computed on demand.
"""

from __future__ import annotations

from datetime import datetime

from django.core.cache import cache
from django.db.models import Max
from django.http import Http404

from analytics.dashboards import reports
from analytics.dashboards.drift import drift_of, new_clusters_table
from analytics.dashboards.models import OutOfScopeClusters, RollupState
from analytics.dashboards.timespan import Span, span_from
from routing.models import Router

SECTIONS = {
    "traffic": "Traffic",
    "cost": "Cost",
    "latency": "Latency",
    "quality": "Quality",
    "drift": "Drift",
}
CACHE_SECONDS = 600
WARMED_PRESETS = ("7d", "30d")


def _computed(section: str, router, span: Span, now: datetime) -> list[reports.Table]:
    if section == "traffic":
        tables = reports.traffic_tables(router, span)
        return tables if router is not None else [reports.router_summaries(span), *tables]
    if section == "cost":
        return reports.cost_tables(router, span)
    if section == "latency":
        return reports.latency_tables(router, span)
    if section == "quality":
        return reports.quality_tables(router, span)
    if section == "drift":
        return [*(drift.table for drift in drift_of(router, now)), new_clusters_table(router)]
    raise Http404("No such dashboard section.")


def section_tables(
    *, section: str, router: Router | None, span: Span, now: datetime, refresh: bool = False
) -> list[reports.Table]:
    states = (
        RollupState.objects.filter(router=router) if router is not None else RollupState.objects
    )
    last_run = states.aggregate(last=Max("last_run_at"))["last"]
    hour = ""
    if section == "drift":  # the last 7 days whatever the range, and the stored clusters
        clusters = OutOfScopeClusters.objects.all()
        if router is not None:
            clusters = clusters.filter(router=router)
        computed = clusters.aggregate(last=Max("computed_at"))["last"]
        hour = f"{now:%Y%m%d%H}:{computed.isoformat() if computed else '-'}"
    key = (
        f"semroute:dashboard:{router.pk if router else 'all'}:{section}:{span.query()}:"
        f"{span.start:%Y%m%d%H}:{last_run.isoformat() if last_run else '-'}:{hour}"
    )
    tables = None if refresh else cache.get(key)
    if tables is None:
        tables = _computed(section, router, span, now)
        cache.set(key, tables, CACHE_SECONDS)
    return tables


def sections_warm(*, now: datetime | None = None) -> int:
    """Compute and cache the default views of every router and of all routers; returns how many."""
    from django.utils import timezone

    now = now or timezone.now()
    warmed = 0
    for router in [None, *Router.objects.order_by("pk")]:
        for preset in WARMED_PRESETS:
            span, _ = span_from({"range": preset}, now=now)
            for section in SECTIONS:
                section_tables(section=section, router=router, span=span, now=now)
                warmed += 1
    return warmed
