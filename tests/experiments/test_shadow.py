"""Shadow mode: a candidate routes sampled live traffic off the request path; agreement,
disagreements, projected cost; a full queue drops and counts; a slow candidate never slows a
response; promote."""

from __future__ import annotations

import threading

import pytest

from analytics.decision_log import decision_log
from analytics.experiments import shadow as shadow_module
from analytics.experiments.exceptions import ExperimentConflict
from analytics.experiments.models import ShadowComparison, ShadowTest
from analytics.experiments.reports import shadow_summary
from analytics.experiments.shadow import ShadowQueue, shadow_create, shadow_queue, shadow_stop
from routing.decision_hooks import hooks
from routing.exceptions import InvalidInput

QUERIES = [
    "please give me my money back for the broken blender I bought",
    "why am I being billed two times for the same month",
    "my app keeps crashing whenever I start it",
]


def _route(api, slug, query):
    response = api.post(f"routers/{slug}/route", {"query": query, "user_id": "u"})
    assert response.status_code == 200, response.content
    return response.json()


def test_the_candidate_routes_a_sample_and_disagreements_are_listed(api, demo_router):
    shadow = shadow_create(
        router=demo_router,
        name="strict floor",
        policy={"similarity_floor": 0.99},
        sample_percent=100,
    )
    live = [_route(api, demo_router.slug, query) for query in QUERIES]
    assert shadow_queue.drain() == 3
    comparisons = ShadowComparison.objects.filter(shadow=shadow)
    assert comparisons.count() == 3
    by_query = {c.query: c for c in comparisons}
    assert [by_query[q].live_intent for q in QUERIES] == [d["intent"] for d in live]
    assert [d["intent"] for d in live] == ["refund", "billing", "technical_support"]
    # Only the crash report is close enough to its intent's centroid for a 0.99 floor.
    assert [by_query[q].candidate_intent for q in QUERIES] == [None, None, "technical_support"]
    shadow.refresh_from_db()
    assert (shadow.routed, shadow.dropped, shadow.failed) == (3, 0, 0)
    summary = shadow_summary(shadow)
    assert summary["agreement"]["successes"] == 1
    assert summary["disagreement_count"] == 2
    assert {c.query for c in summary["disagreements"]} == set(QUERIES[:2])
    live_cost = sum(d["estimated_cost_usd"] for d in live)
    assert summary["live_cost_usd"] == pytest.approx(live_cost)
    candidate_cost = sum(c.candidate_cost_usd for c in comparisons)
    assert summary["cost_change"] == pytest.approx((candidate_cost - live_cost) / live_cost)


def test_the_same_configuration_agrees_everywhere(api, demo_router):
    shadow = shadow_create(router=demo_router, name="same", sample_percent=100)
    for query in QUERIES:
        _route(api, demo_router.slug, query)
    shadow_queue.drain()
    summary = shadow_summary(shadow)
    assert summary["agreement"]["successes"] == 3
    assert summary["cost_change"] == 0.0
    assert summary["quality_change"] == 0.0


def test_a_full_queue_drops_and_counts(api, demo_router, monkeypatch):
    monkeypatch.setattr(shadow_module, "shadow_queue", ShadowQueue(max_items=2))
    monkeypatch.setattr(shadow_module.shadow_queue, "autostart", False)
    shadow = shadow_create(router=demo_router, name="tiny queue", sample_percent=100)
    for query in QUERIES * 2:
        _route(api, demo_router.slug, query)
    assert shadow_module.shadow_queue.drain() == 2
    shadow.refresh_from_db()
    assert (shadow.routed, shadow.dropped) == (2, 4)


def test_a_slow_candidate_never_slows_the_response(api, demo_router, monkeypatch):
    """The worker thread is stuck inside the candidate; requests are answered all the same."""
    shadow_create(router=demo_router, name="slow", sample_percent=100)
    entered, release = threading.Event(), threading.Event()
    threads = []

    def stuck_candidate(item):
        threads.append(threading.current_thread().name)
        entered.set()
        release.wait(30)

    monkeypatch.setattr(shadow_module, "shadow_compare", stuck_candidate)
    worker = threading.Thread(
        target=shadow_module.shadow_queue.drain, name="shadow-worker", daemon=True
    )
    _route(api, demo_router.slug, QUERIES[0])
    worker.start()
    assert entered.wait(30)
    # The candidate is blocked in the worker; the route API still answers every call.
    for query in QUERIES:
        assert _route(api, demo_router.slug, query)["intent"] is not None
    release.set()
    worker.join(30)
    assert not worker.is_alive()
    # Every candidate call ran in the worker, none in a request.
    assert threads == ["shadow-worker"] * 4


def test_console_channels_are_not_shadowed(demo_router):
    shadow_create(router=demo_router, name="api only", sample_percent=100)
    from routing.decide import decide

    decision = decide(router=demo_router, query=QUERIES[0])
    hooks.record(
        router=demo_router,
        queries=[QUERIES[0]],
        decisions=[decision],
        principal=None,
        channel="playground",
    )
    assert shadow_queue.items.qsize() == 0
    decision_log.discard()


def test_the_budget_stops_shadow_sampling(api, demo_router):
    from analytics.experiments.budget import judge_settings_save

    judge_settings_save(router_id=demo_router.pk, daily_budget_usd=0.0)
    shadow = shadow_create(router=demo_router, name="no budget", sample_percent=100)
    _route(api, demo_router.slug, QUERIES[0])
    assert shadow_queue.items.qsize() == 0
    shadow.refresh_from_db()
    assert shadow.over_budget == 1


def test_one_shadow_per_router_and_bad_candidates(demo_router):
    shadow_create(router=demo_router, name="first")
    with pytest.raises(ExperimentConflict):
        shadow_create(router=demo_router, name="second")
    with pytest.raises(InvalidInput) as refused:
        shadow_create(router=demo_router, name="x", version=999, sample_percent=0)
    fields = [p["field"] for p in refused.value.details["problems"]]
    assert fields == ["sample_percent", "candidate"]


def test_promote_makes_the_candidate_the_configuration(demo_router):
    shadow = shadow_create(router=demo_router, name="knn", policy={"method": "knn", "top_k": 3})
    version = demo_router.version
    shadow_stop(shadow=shadow, promote=True)
    demo_router.refresh_from_db()
    assert (demo_router.method, demo_router.top_k, demo_router.version) == ("knn", 3, version + 1)
    shadow.refresh_from_db()
    assert (shadow.status, shadow.promoted_version) == ("promoted", version + 1)
    with pytest.raises(ExperimentConflict):
        shadow_stop(shadow=shadow)
    assert ShadowTest.objects.filter(status="running").count() == 0
