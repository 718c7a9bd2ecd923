"""Decision browser at scale: time the first page and filtered pages of /r/<slug>/decisions/.

    DATABASE_URL=postgres://... .venv/bin/python bench/decisions_generate.py --rows 1000000
    DATABASE_URL=postgres://... .venv/bin/python bench/review_pages.py [--repeat 40]

Each case is the whole Django view (filters, the cursor query, the feedback lookup, template
rendering) through django.test.Client, logged in as a superuser, in this one process: no HTTP,
no network. Reports p50 / p95 / max over --repeat requests after --warmup, and the EXPLAIN of
each case's page query so a plan that stops using an index shows. Target: p95 <= 200 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "semroute_site.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from analytics.models import DecisionLog  # noqa: E402
from analytics.review.forms import DecisionFilterForm  # noqa: E402
from analytics.review.selectors import decisions_filtered  # noqa: E402
from routing.models import Router  # noqa: E402

CASES = [
    ("first page", {}),
    ("intent = billing", {"intent": "billing"}),
    ("no intent", {"intent": "__none__"}),
    ("tier = gpt-4o", {"tier": "gpt-4o"}),
    ("stage = llm, confidence <= 0.5", {"stage": "llm", "confidence_max": "0.5"}),
    ("feedback = thumbs down", {"feedback": "down"}),
    ("escalated", {"escalated": "on"}),
    ("re-asked", {"reasked": "on"}),
    ("query contains 'refund'", {"text": "refund"}),
    ("last 24 h, intent = refund", {"intent": "refund", "since": "__yesterday__"}),
    ("all channels", {"channel": "all"}),
    (
        "intent = billing, thumbs down, escalated",
        {"intent": "billing", "feedback": "down", "escalated": "on"},
    ),
    ("query contains 'xylophone' (no match)", {"text": "xylophone"}),
]


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--router", default="support")
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--explain", action="store_true", help="print each case's query plan")
    return parser.parse_args()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    args = arguments()
    settings.ALLOWED_HOSTS = ["testserver", *settings.ALLOWED_HOSTS]
    router = Router.objects.get(slug=args.router)
    rows = DecisionLog.objects.filter(router=router).count()
    user, _ = get_user_model().objects.get_or_create(
        username="bench-review", defaults={"is_superuser": True, "is_staff": True}
    )
    client = Client()
    client.force_login(user)
    url = f"/r/{router.slug}/decisions/"
    from datetime import timedelta

    from django.utils import timezone

    yesterday = (timezone.localtime() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    print(f"{rows:,} decisions of router {router.slug!r} on {connection.vendor}")
    print("| case | matches on page | p50 ms | p95 ms | max ms | requests |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, params in CASES:
        params = {k: (yesterday if v == "__yesterday__" else v) for k, v in params.items()}
        timings = []
        for i in range(args.warmup + args.repeat):
            started = time.perf_counter()
            response = client.get(url, params)
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, (name, response.status_code)
            if i >= args.warmup:
                timings.append(elapsed)
        shown = response.content.decode().count('<tr><td class="muted nowrap">')
        print(
            f"| {name} | {shown} | {statistics.median(timings):.1f} | "
            f"{percentile(timings, 0.95):.1f} | {max(timings):.1f} | {len(timings)} |"
        )
        if args.explain:
            form = DecisionFilterForm(params, router=router)
            queryset = decisions_filtered(router, form.decision_filter()).order_by(
                "-created_at", "-id"
            )[:51]
            print(queryset.explain(analyze=True))
    # The second page follows the first page's "Older" link (the cursor).
    first = client.get(url).content.decode()
    cursor_url = first.split('class="older"')[0].rsplit('href="', 1)[1].split('"')[0]
    timings = []
    for i in range(args.warmup + args.repeat):
        started = time.perf_counter()
        client.get(url + cursor_url.replace("&amp;", "&"))
        if i >= args.warmup:
            timings.append((time.perf_counter() - started) * 1000)
    print(
        f"| second page (cursor) | 50 | {statistics.median(timings):.1f} | "
        f"{percentile(timings, 0.95):.1f} | {max(timings):.1f} | {len(timings)} |"
    )


if __name__ == "__main__":
    main()
