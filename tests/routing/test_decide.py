"""The Django glue routes with the router's current version and sees changes at once."""

from dataclasses import replace

import pytest
from django.core.cache import cache

from routing.decide import SharedDecisionCache, decide, decide_batch
from routing.engine import LocalDecisionCache
from routing.models import Intent
from routing.services.examples import example_add
from routing.services.versioning import config_object_save, router_policy_update
from routing.snapshots import compiled_router

pytestmark = pytest.mark.django_db


def test_demo_router_routes_clear_queries(demo_router):
    decision = decide(
        router=demo_router, query="where is my parcel? tracking says nothing since monday"
    )
    assert decision.intent == "shipping"
    assert decision.handler == "support.shipping"
    assert decision.router_version == demo_router.version
    assert decision.tier in {"gpt-4o-mini", "gpt-4o", "claude-sonnet-4"}
    assert decision.baseline_cost_usd >= decision.estimated_cost_usd > 0


def test_card_number_forces_the_most_capable_tier(demo_router):
    decision = decide(router=demo_router, query="my card 4111 1111 1111 1111 was charged twice")
    assert decision.tier == "claude-sonnet-4"
    assert decision.trace.matched_rules


def test_a_new_version_is_used_immediately(demo_router, django_capture_on_commit_callbacks):
    before = decide(router=demo_router, query="zorblax flux capacitor recalibration")
    small_talk = Intent.objects.get(router=demo_router, name="small_talk")
    with django_capture_on_commit_callbacks(execute=True):
        example_add(intent=small_talk, text="zorblax flux capacitor recalibration")
    demo_router.refresh_from_db()
    after = decide(router=demo_router, query="zorblax flux capacitor recalibration")
    assert after.router_version == before.router_version + 1
    assert after.intent == "small_talk"
    assert not after.cached


def test_batch_keeps_order_and_matches_single_decisions(demo_router):
    queries = ["I forgot my password", "cancel my plan please", "thanks, that's all!"]
    decisions = decide_batch(router=demo_router, queries=queries)
    assert [d.intent for d in decisions] == [
        decide(router=demo_router, query=q).intent for q in queries
    ]
    assert decisions[0].intent == "account_access" and decisions[1].intent == "cancel_subscription"


def test_policy_override_is_a_different_strategy_from_the_saved_one(demo_router):
    from dataclasses import replace

    from routing.snapshots import compiled_router

    saved = compiled_router(demo_router).snapshot.policy
    centroid = decide(
        router=demo_router, query="I was billed twice", policy=replace(saved, method="centroid")
    )
    linear = decide(router=demo_router, query="I was billed twice")
    assert not centroid.cached and not linear.cached
    router_policy_update(router=demo_router, changes={"method": "centroid"})
    demo_router.refresh_from_db()
    assert compiled_router(demo_router).snapshot.policy.method == "centroid"


def test_greeting_rule_only_takes_messages_that_are_just_a_greeting(demo_router):
    assert decide(router=demo_router, query="Hello!").stage == "rule"
    late = decide(
        router=demo_router, query="hello, my order #5521 is three weeks late and nobody answers"
    )
    assert late.stage != "rule"
    assert late.intent != "small_talk"


@pytest.mark.django_db(transaction=True)
def test_api_path_serves_the_previous_version_while_the_new_one_compiles(demo_document):
    import time

    from routing.services.config_apply import router_config_apply
    from routing.snapshots import compiled_router

    router = router_config_apply(document=demo_document).router
    old = compiled_router(router)
    example_add(
        intent=Intent.objects.get(router=router, name="refund"),
        text="reimburse me for the broken kettle",
    )
    router.refresh_from_db()

    served = compiled_router(router, allow_stale=True)
    assert served is old and served.version == router.version - 1

    deadline = time.monotonic() + 60
    while compiled_router(router, allow_stale=True).version != router.version:
        assert time.monotonic() < deadline, "background compile did not finish"
        time.sleep(0.05)
    assert "reimburse me for the broken kettle" in compiled_router(router).snapshot.example_texts


def test_out_of_scope_queries_get_no_intent_and_the_floor_is_configurable(demo_router):
    for query in ("what is the capital of France", "write me a poem about the sea"):
        decision = decide(router=demo_router, query=query)
        assert decision.intent is None, query
        assert decision.trace.similarity < decision.trace.similarity_floor
    router_policy_update(router=demo_router, changes={"similarity_floor": -1.0})
    demo_router.refresh_from_db()
    assert decide(router=demo_router, query="what is the capital of France").intent is not None


def test_simple_questions_go_to_the_cheapest_tier_and_a_design_task_does_not(demo_router):
    trivial = decide(router=demo_router, query="what's 2+2?")
    assert trivial.complexity == "simple"
    design = decide(
        router=demo_router,
        query="Design a rollout plan to migrate 40k users from our v1 API to v2 with SSO, "
        "including rollback, monitoring and how to compare error rates step by step.",
    )
    assert design.complexity == "complex"
    assert design.tier != "gpt-4o-mini"
    simple_shipping = decide(router=demo_router, query="where is my parcel")
    assert simple_shipping.complexity == "simple" and simple_shipping.tier == "gpt-4o-mini"


def test_shared_decision_cache_stores_and_finds_a_batch_in_one_call_each(demo_router):
    first, second = decide_batch(router=demo_router, queries=["where is my parcel", "refund me"])
    shared = SharedDecisionCache(LocalDecisionCache())

    shared.set_many({"parcel": first, "refund": second}, ttl_seconds=60)
    found = shared.get_many(["parcel", "refund", "never-stored"])

    assert set(found) == {"parcel", "refund"}
    assert (found["parcel"].intent, found["refund"].intent) == (first.intent, second.intent)
    assert cache.get(SharedDecisionCache.prefix + "parcel").intent == first.intent


def test_a_decision_another_worker_cached_is_found_and_then_kept_near(demo_router):
    decision = decide(router=demo_router, query="where is my parcel")
    near = LocalDecisionCache()
    shared = SharedDecisionCache(near)
    cache.set(SharedDecisionCache.prefix + "parcel", decision, timeout=60)  # another worker's

    assert shared.get_many(["parcel"])["parcel"].intent == decision.intent
    cache.delete(SharedDecisionCache.prefix + "parcel")
    # The copy in this process answers without the shared cache, for near_seconds at most.
    assert shared.get_many(["parcel"])["parcel"].intent == decision.intent
    near.clear()
    assert shared.get_many(["parcel"]) == {}


# The mapping the product promises for the demo (helper A makes these the demo's saved floors).
DEMO_FLOORS = {"simple": 0.0, "moderate": 0.8, "complex": 0.9}
DESIGN_QUESTION = (
    "Design a distributed system for real-time inventory across 40 warehouses: compare "
    "event sourcing with CDC, explain the consistency trade-offs and plan the migration step by step."
)


def test_out_of_scope_queries_get_the_tier_their_complexity_calls_for(demo_router):
    saved = compiled_router(demo_router).snapshot.policy
    policy = replace(saved, complexity_min_quality=DEMO_FLOORS)

    trivial = decide(router=demo_router, query="what's 2+2?", policy=policy)
    design = decide(router=demo_router, query=DESIGN_QUESTION, policy=policy)

    assert (trivial.intent, trivial.complexity, trivial.tier) == (None, "simple", "gpt-4o-mini")
    assert (design.intent, design.complexity, design.tier) == (None, "complex", "claude-sonnet-4")
    # "No intent" is a result, not a failure: the fallback tier (gpt-4o) answers neither.
    assert not any(n.startswith("fallback tier") for d in (trivial, design) for n in d.trace.notes)


def test_a_failure_takes_the_fallback_tier_never_the_cheapest(demo_router):
    decision = decide_batch(router=demo_router, queries=["   "])[0]
    assert decision.stage == "fallback" and decision.trace.fallback_reason == "empty query"
    assert decision.tier == "gpt-4o"  # the demo's fallback tier


RETENTION_QUERY = "I do NOT want to cancel my subscription"


@pytest.mark.parametrize("method", ["centroid", "knn", "linear"])
def test_a_corrected_query_routes_as_corrected_with_every_method(
    demo_router, django_capture_on_commit_callbacks, method
):
    intent = Intent(router=demo_router, name="retention", handler="support.retention")
    config_object_save(obj=intent)
    with django_capture_on_commit_callbacks(execute=True):
        example_add(intent=intent, text=RETENTION_QUERY)
    demo_router.refresh_from_db()
    policy = replace(compiled_router(demo_router).snapshot.policy, method=method)

    decisions = [
        decide(router=demo_router, query=query, policy=policy)
        for query in (RETENTION_QUERY, RETENTION_QUERY.lower() + "  ")
    ]

    for decision in decisions:
        assert (decision.intent, decision.handler) == ("retention", "support.retention")
        assert any(note.startswith("matched example") for note in decision.trace.notes)
    # The opposite request is 0.972 from the example: not its near-duplicate (the bound is 0.995).
    # (The demo has that exact text as a cancel_subscription example, which it may match.)
    opposite = decide(router=demo_router, query="I want to cancel my subscription", policy=policy)
    assert opposite.intent == "cancel_subscription"
    assert not any(
        note.startswith("matched example") and "of retention" in note
        for note in opposite.trace.notes
    )
