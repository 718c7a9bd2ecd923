"""Demo traffic: routed by the real engine, marked, rolled up, removable; never with DEBUG=0."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from analytics.dashboards.demo_traffic import (
    DemoTrafficRefused,
    demo_traffic_generate,
    demo_traffic_remove,
)
from analytics.dashboards.models import HourlyTierRollup, OutOfScopeClusters
from analytics.models import DecisionLog, Feedback
from analytics.review.models import ReviewDecision, ReviewItem

pytestmark = pytest.mark.django_db


def _rolled(router) -> int:
    return sum(HourlyTierRollup.objects.filter(router=router).values_list("decisions", flat=True))


def test_generated_traffic_is_routed_marked_and_rolled_up(demo_router, settings):
    settings.DEBUG = True
    report = demo_traffic_generate(router=demo_router, count=300, days=30)
    rows = DecisionLog.objects.filter(router=demo_router)
    assert report.decisions == 300 == rows.count() == rows.filter(metadata__demo="traffic").count()
    assert _rolled(demo_router) == 300
    assert Feedback.objects.filter(comment="demo traffic").count() == report.feedback > 0
    # Real decisions: the engine's intents, a routing trace, the router's version.
    assert rows.filter(intent="shipping").exists() and rows.filter(intent__isnull=True).exists()
    assert not rows.exclude(router_version=demo_router.version).exists()
    assert rows.filter(channel="gateway", actual_cost_usd__isnull=False).exists()
    assert rows.filter(reasked=True).exists()


def test_generated_traffic_fills_the_review_queue_and_shows_a_new_cluster(demo_router, settings):
    settings.DEBUG = True
    demo_traffic_generate(router=demo_router, count=600, days=30)
    items = ReviewItem.objects.filter(router=demo_router)
    reasons = {reason for item in items for reason in item.reasons}
    assert {"out_of_scope", "thumbs_down", "reasked"} <= reasons
    down = Feedback.objects.filter(rating="down").values_list("decision_id", flat=True)
    assert set(down) <= set(ReviewDecision.objects.values_list("decision_id", flat=True))
    # Books are asked about only in the last week: drift's new out-of-scope cluster.
    clusters = OutOfScopeClusters.objects.get(router=demo_router).clusters
    assert any("novel" in " ".join(cluster["queries"]) for cluster in clusters)
    assert not any("weather" in " ".join(cluster["queries"]) for cluster in clusters)


def test_remove_deletes_exactly_the_demo_rows_and_their_rollups(demo_router, settings):
    from analytics.decision_log import decision_rows_write
    from analytics.review.intake import rows_intake
    from tests.dashboards.conftest import NOW, decision_row

    settings.DEBUG = True
    settings.SEMROUTE_DECISION_RETENTION_DAYS = 0
    # A real out-of-scope decision in the queue, asked again by the demo traffic.
    real = decision_row(
        demo_router, NOW, query="what's the weather in lisbon tomorrow", intent=None
    )
    decision_rows_write([real])
    rows_intake([real])
    kept = Feedback.objects.create(decision_id=real.id, rating="down")
    demo_traffic_generate(router=demo_router, count=400, days=5)
    shared = ReviewItem.objects.get(decision_id=real.id)
    assert shared.count > 1
    removed, _ = demo_traffic_remove(router=demo_router)
    assert removed == 400
    assert DecisionLog.objects.filter(router=demo_router).count() == 1
    assert Feedback.objects.filter(pk=kept.pk).exists()
    assert _rolled(demo_router) == 1
    # The queue keeps the real decision only: its item, with the count it holds now.
    assert list(ReviewDecision.objects.values_list("decision_id", flat=True)) == [real.id]
    assert list(ReviewItem.objects.values_list("pk", "count")) == [(shared.pk, 1)]


def test_never_with_debug_off(demo_router, settings):
    settings.DEBUG = False
    with pytest.raises(DemoTrafficRefused):
        demo_traffic_generate(router=demo_router, count=10)
    with pytest.raises(CommandError, match="never generated with DEBUG=0"):
        call_command("demo_traffic", count=10)
    call_command("demo_traffic", if_empty=True)  # what make run calls: silently nothing
    assert not DecisionLog.objects.exists()


def test_if_empty_leaves_a_router_with_traffic_alone(demo_router, settings, capsys):
    settings.DEBUG = True
    call_command("demo_traffic", count=50, days=3)
    call_command("demo_traffic", if_empty=True)
    assert DecisionLog.objects.count() == 50
    call_command("demo_traffic", remove=True)
    assert "Removed 50 demo decisions" in capsys.readouterr().out
