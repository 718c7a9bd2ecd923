"""The playground and the console's batch log their decisions, marked, outside traffic metrics."""

from __future__ import annotations

import pytest
from django.urls import reverse

from analytics.decision_log import decision_log
from analytics.models import DecisionLog
from analytics.review.models import ReviewItem
from analytics.traffic import recent_queries, traffic_today

pytestmark = pytest.mark.django_db


def test_playground_and_batch_decisions_are_logged_as_the_consoles(
    client, operator, demo_router, route_logged
):
    client.force_login(operator)
    client.get(
        reverse("console:playground", args=["support"]), {"q": "how do I bake sourdough bread"}
    )
    client.post(
        reverse("console:playground_batch", args=["support"]),
        {"queries": "where is my parcel\nmy card"},
    )
    decision_log.flush()
    channels = sorted(DecisionLog.objects.values_list("channel", "query"))
    assert channels == [
        ("console", "my card"),
        ("console", "where is my parcel"),
        ("playground", "how do I bake sourdough bread"),
    ]
    assert ReviewItem.objects.count() == 0  # console tries never fill the queue
    assert traffic_today() == {}
    assert recent_queries(demo_router, 10) == []
    route_logged(demo_router, "I can't log in")
    assert traffic_today() == {demo_router.pk: 1}
    assert recent_queries(demo_router, 10) == ["I can't log in"]


def test_compare_mode_logs_only_the_saved_strategy(client, operator, demo_router):
    client.force_login(operator)
    client.get(
        reverse("console:playground_compare", args=["support"]),
        {"q": "my card", "method_b": "knn", "threshold_b": "0.2"},
    )
    decision_log.flush()
    assert list(DecisionLog.objects.values_list("channel", flat=True)) == ["playground"]
