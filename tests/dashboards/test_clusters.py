"""New out-of-scope clusters: constructed traffic through the real review intake (which embeds
every out-of-scope decision), grouped by the review queue's clustering, computed by the rollup
task and shown on the drift section with links into the decision browser and the review queue."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from django.urls import reverse

from analytics.dashboards.clusters import out_of_scope_clusters_compute
from analytics.dashboards.models import OutOfScopeClusters
from analytics.decision_log import decision_rows_write
from analytics.review.intake import review_intake
from tests.dashboards.conftest import (
    BITCOIN,
    NOW,
    POEM,
    WEATHER,
    decision_row,
    out_of_scope_rows,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def constructed(demo_router, settings):
    settings.SEMROUTE_REVIEW_SAMPLE_RATE = 0.0
    rows = [
        *out_of_scope_rows(demo_router, WEATHER, days_ago=12, times=2),
        *out_of_scope_rows(demo_router, WEATHER, days_ago=2),
        *out_of_scope_rows(demo_router, BITCOIN, days_ago=1, times=2),
        *out_of_scope_rows(demo_router, POEM, days_ago=3, times=2),
        *out_of_scope_rows(demo_router, BITCOIN, days_ago=40),  # before the five weeks: not counted
        decision_row(demo_router, NOW - timedelta(days=1)),  # in scope (refund)
    ]
    decision_rows_write(rows)
    assert review_intake(decision_ids=[row.id for row in rows]) == len(rows) - 1
    return rows


def test_a_new_cluster_appears_and_one_seen_before_does_not(demo_router, constructed):
    stored = out_of_scope_clusters_compute(router=demo_router, now=NOW)
    assert stored.decisions == len(WEATHER) + 2 * len(BITCOIN) + 2 * len(POEM)
    assert stored.previous_decisions == 2 * len(WEATHER)
    assert stored.recurring == 1  # the weather, asked in the weeks before too
    [cluster] = stored.clusters
    assert cluster["decisions"] == 2 * len(BITCOIN)
    assert cluster["previous"] == 0
    assert len(cluster["queries"]) == 5 and all("bitcoin" in q for q in cluster["queries"])
    assert len(cluster["items"]) == len(BITCOIN)  # one review item per distinct query


def test_recomputing_rewrites_the_one_row(demo_router, constructed):
    first = out_of_scope_clusters_compute(router=demo_router, now=NOW)
    again = out_of_scope_clusters_compute(router=demo_router, now=NOW + timedelta(minutes=5))
    assert OutOfScopeClusters.objects.filter(router=demo_router).count() == 1
    assert again.clusters == first.clusters
    # Three weeks later the bitcoin questions are history, and nothing was asked since.
    later = out_of_scope_clusters_compute(router=demo_router, now=NOW + timedelta(days=21))
    assert later.clusters == [] and later.decisions == 0


def test_the_rollup_task_computes_them_and_the_drift_section_links_them(
    client, viewer, demo_router, constructed, monkeypatch
):
    from django.utils import timezone

    from analytics.dashboards.tasks import rollup_task

    monkeypatch.setattr(timezone, "now", lambda: NOW)
    rollup_task.delay()
    [cluster] = OutOfScopeClusters.objects.get(router=demo_router).clusters
    client.force_login(viewer)
    page = client.get(reverse("dashboards:router_section", args=[demo_router.slug, "drift"]))
    assert page.status_code == 200
    body = html.unescape(page.content.decode())
    assert 'id="panel-drift_new_clusters"' in body
    assert "what is the bitcoin price today" in body
    assert "paris" not in body  # the weather was asked before: not a new cluster
    review_url = reverse("review:item", args=[demo_router.slug, cluster["items"][0]])
    assert f'href="{review_url}"' in body
    browse = body.split(f'href="{reverse("review:decisions", args=[demo_router.slug])}?', 1)[1]
    browse_url = reverse("review:decisions", args=[demo_router.slug]) + "?" + browse.split('"')[0]
    assert "intent=__none__" in browse_url
    found = client.get(browse_url)
    assert found.status_code == 200
    assert cluster["queries"][0] in html.unescape(found.content.decode())
    assert client.get(review_url).status_code == 200
    csv_url = reverse(
        "dashboards:router_csv", args=[demo_router.slug, "drift", "drift_new_clusters"]
    )
    rows = client.get(csv_url).content.decode().splitlines()
    assert rows[0] == "router,decisions this week,previous 4 weeks,example queries"
    assert rows[1].startswith(f"{demo_router.slug},{2 * len(BITCOIN)},0,")


def test_the_all_routers_drift_section_shows_each_routers_clusters(
    client, viewer, demo_router, constructed
):
    out_of_scope_clusters_compute(router=demo_router, now=NOW)
    client.force_login(viewer)
    body = html.unescape(
        client.get(reverse("dashboards:all_section", args=["drift"])).content.decode()
    )
    assert "what is the bitcoin price today" in body
    assert f"<td>{demo_router.slug}</td>" in body


def test_without_a_computed_row_the_section_says_so(client, viewer, demo_router):
    client.force_login(viewer)
    body = client.get(
        reverse("dashboards:router_section", args=[demo_router.slug, "drift"])
    ).content.decode()
    assert "Not computed yet (after the next rollup run)" in body
