"""Time a full rollup of the decision log and the dashboard pages that read it.

    DATABASE_URL=postgres://... .venv/bin/python bench/decisions_generate.py --rows 1000000 --days 30 --experiment 1
    DATABASE_URL=postgres://... .venv/bin/python bench/dashboard_rollup.py [--requests 20] [--skip-rollup]
        [--ranges 24h,7d,30d,90d,month,custom]

1. A full rollup (`rollup_run(since=31 days ago)`: every hour rewritten from the raw log), timed.
2. The same again for only the hours a 5-minute beat run rewrites (no late rows: the lookback),
   and the new out-of-scope clusters the rollup task then computes (from the review queue's
   items: none unless the review intake saw the decisions, and the generator writes with COPY;
   `--queue-out-of-scope` first writes what the intake would have: an item per distinct
   out-of-scope query with its vector, and a ReviewDecision per out-of-scope decision, by
   INSERT ... SELECT, not the intake's path).
3. Every dashboard page (5 sections, per router and across routers, each time range of
   `--ranges`, "custom" being the last 30 whole days by from/to, plus a CSV), requested
   `--requests` times each through Django's test client in this process (the whole view:
   queries, plotly figures, template; no network), p50 / p95 in ms: cold (the cache emptied
   before each request: the first view after a rollup run; PostgreSQL's own buffers stay warm)
   and warm (the section's tables cached until the next rollup run, what every other request
   gets).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "semroute_site.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from analytics.dashboards.clusters import out_of_scope_clusters_compute  # noqa: E402
from analytics.dashboards.models import (  # noqa: E402
    DailyTierRollup,
    HourlyRollup,
    HourlyTierRollup,
)
from analytics.dashboards.rollups import rollup_run  # noqa: E402
from analytics.models import DecisionLog  # noqa: E402
from analytics.review.intake import query_key  # noqa: E402
from analytics.review.models import ReviewDecision, ReviewItem, ReviewReason  # noqa: E402
from routing.models import Router  # noqa: E402
from routing.vectors import active_encoder  # noqa: E402

SECTIONS = ("traffic", "cost", "latency", "quality", "drift")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def out_of_scope_queue(router) -> int:
    """The review queue the intake would have built for the out-of-scope decisions (bench only)."""
    if ReviewDecision.objects.filter(item__router=router).exists():
        return 0
    out_of_scope = DecisionLog.objects.filter(router=router, intent__isnull=True, blocked=False)
    texts = sorted(set(out_of_scope.values_list("query", flat=True).distinct()))
    encoder = active_encoder()
    first = dict(out_of_scope.order_by("created_at").values_list("query", "id"))
    for text, vector in zip(texts, encoder.encode(texts), strict=True):
        ReviewItem.objects.create(
            router=router,
            decision_id=first[text],
            query=text,
            query_key=query_key(text),
            vector=vector.astype("float32").tobytes(),
            encoder=encoder.name,
            reasons=[ReviewReason.OUT_OF_SCOPE],
            count=out_of_scope.filter(query=text).count(),
        )
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO analytics_reviewdecision "
            "(decision_id, decided_intent, reasons, sampled, created_at, item_id) "
            "SELECT d.id, NULL, %s, false, d.created_at, i.id FROM analytics_decisionlog d "
            "JOIN analytics_reviewitem i ON i.router_id = d.router_id AND i.query = d.query "
            "WHERE d.router_id = %s AND d.intent IS NULL AND NOT d.blocked",
            ['["out_of_scope"]', router.pk],
        )
        return cursor.rowcount


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--router", default="support")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--skip-rollup", action="store_true")
    parser.add_argument("--ranges", default="24h,7d,30d,90d,month,custom")
    parser.add_argument("--queue-out-of-scope", action="store_true")
    args = parser.parse_args()
    router = Router.objects.get(slug=args.router)
    decisions = DecisionLog.objects.filter(router=router).count()
    print(f"{decisions:,} decisions of router {router.slug!r} ({connection.vendor})")
    settings.SEMROUTE_DECISION_RETENTION_DAYS = 0  # the generated rows span 30 days: keep them all
    if not args.skip_rollup:
        started = time.perf_counter()
        report = rollup_run(since=timezone.now() - timedelta(days=31), router_ids=[router.pk])
        elapsed = time.perf_counter() - started
        print(
            f"full rollup: {report.hours_rewritten} hours in {elapsed:.1f} s "
            f"({decisions / elapsed:,.0f} decisions/s); "
            f"{HourlyRollup.objects.filter(router=router).count():,} rows with every dimension, "
            f"{HourlyTierRollup.objects.filter(router=router).count():,} per tier and hour, "
            f"{DailyTierRollup.objects.filter(router=router).count():,} per tier and day"
        )
        started = time.perf_counter()
        report = rollup_run(router_ids=[router.pk])
        print(
            f"beat run (nothing late): {report.hours_rewritten} hours in "
            f"{time.perf_counter() - started:.2f} s"
        )
    if args.queue_out_of_scope:
        print(f"queued {out_of_scope_queue(router):,} out-of-scope decisions")
    started = time.perf_counter()
    stored = out_of_scope_clusters_compute(router=router)
    print(
        f"new out-of-scope clusters: {len(stored.clusters)} from {stored.decisions:,} queued "
        f"out-of-scope decisions this week and {stored.previous_decisions:,} in the four before "
        f"in {time.perf_counter() - started:.2f} s"
    )
    user = get_user_model().objects.filter(is_superuser=True).first()
    if user is None:
        user = get_user_model().objects.create_superuser("bench-dashboards", password=None)
    client = Client()
    client.force_login(user)
    today = timezone.now().date()
    ranges = {
        name: f"range={name}"
        if name != "custom"
        else f"range=custom&from={today - timedelta(days=30)}&to={today - timedelta(days=1)}"
        for name in args.ranges.split(",")
    }
    pages = []
    for scope in (f"/r/{router.slug}/dashboard", "/dashboards"):
        for section in SECTIONS:
            for query in ranges.values():
                pages.append(f"{scope}/{section}/?{query}")
    pages.append(f"/r/{router.slug}/dashboard/traffic/csv/traffic_intent/?range=30d")
    # Cold: the cache emptied before every request (the first view after a rollup run).
    # Warm: what every later request until the next rollup run gets.
    results = {"cold": [], "warm": []}
    print(f"{'page':<80} {'cold p50':>9} {'cold p95':>9} {'warm p50':>9} {'warm p95':>9}")
    for url in pages:
        assert client.get(url).status_code == 200, url  # first compile of the templates
        line = []
        for mode in ("cold", "warm"):
            times = []
            for _ in range(args.requests):
                if mode == "cold":
                    cache.clear()
                started = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, url
            results[mode] += times
            line += [statistics.median(times), percentile(times, 95)]
        print(f"{url:<80} " + " ".join(f"{value:9.1f}" for value in line))
    for mode, times in results.items():
        print(
            f"all pages, {mode}: {len(times)} requests, p50 {statistics.median(times):.1f} ms, "
            f"p95 {percentile(times, 95):.1f} ms, max {max(times):.1f} ms"
        )


if __name__ == "__main__":
    main()
