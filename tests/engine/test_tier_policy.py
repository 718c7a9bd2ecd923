import pytest

from routing.engine import IntentSpec, Policy, RuleSpec, TierSpec, compile_router
from routing.engine.tier_policy import choose_tier, middle_tier
from tests.engine.conftest import EXAMPLES, TIERS, make_snapshot

CHEAP, MIDDLE, POWERFUL = TIERS


def test_simple_query_goes_to_the_cheapest_tier(router, encoder):
    decision = router.route("will it rain tomorrow", encoder=encoder)

    assert decision.complexity == "simple"
    assert (decision.tier, decision.model, decision.provider) == ("cheap", "gpt-4o-mini", "openai")
    assert 0 < decision.estimated_cost_usd < decision.baseline_cost_usd


def test_cheapest_tier_meeting_the_quality_floor_is_chosen():
    choice = choose_tier(
        list(TIERS),
        required_quality=0.7,
        input_tokens=100,
        output_tokens=100,
        latency_budget_ms=None,
    )

    assert choice.tier is MIDDLE


def test_price_decides_over_rank_and_rank_breaks_ties():
    twin = TierSpec(
        "twin", 0, "openai", "twin", MIDDLE.price_in_per_mtok, MIDDLE.price_out_per_mtok, 0.9
    )
    cheaper_good = TierSpec("cheaper-good", 9, "openai", "x", 1.0, 1.0, 0.9)

    assert (
        choose_tier(
            [MIDDLE, twin],
            required_quality=0.8,
            input_tokens=10,
            output_tokens=10,
            latency_budget_ms=None,
        ).tier
        is twin
    )
    assert (
        choose_tier(
            [MIDDLE, cheaper_good],
            required_quality=0.8,
            input_tokens=10,
            output_tokens=10,
            latency_budget_ms=None,
        ).tier
        is cheaper_good
    )


def test_intent_minimum_tier_is_respected(encoder):
    intents = [
        IntentSpec(name, f"handlers.{name}", min_tier="powerful" if name == "billing" else None)
        for name in EXAMPLES
    ]
    router = compile_router(
        make_snapshot(encoder, intents=intents, policy=Policy(method="centroid", threshold=0.4))
    )

    assert router.route("i want a refund for my invoice", encoder=encoder).tier == "powerful"
    assert router.route("will it rain tomorrow", encoder=encoder).tier == "cheap"


def test_rule_minimum_tier_is_respected(encoder):
    rules = (RuleSpec(1, "keyword", "legal", priority=1, action="min_tier", tier="middle"),)
    router = compile_router(
        make_snapshot(encoder, rules=rules, policy=Policy(method="centroid", threshold=0.4))
    )

    assert router.route("legal question: will it rain tomorrow", encoder=encoder).tier == "middle"


def test_latency_budget_excludes_slow_tiers_and_notes_the_compromise(encoder):
    policy = Policy(method="centroid", threshold=0.4, latency_budget_ms=1000)
    rules = (RuleSpec(1, "keyword", "hard", priority=1, action="min_tier", tier="powerful"),)
    router = compile_router(make_snapshot(encoder, rules=rules, policy=policy))

    decision = router.route("hard one: will it rain tomorrow", encoder=encoder)

    assert decision.tier == "middle"
    assert any("within the latency budget" in note for note in decision.trace.notes)


class BrokenLLM:
    """An LLM stage that always fails: the query fails over to the fallback tier."""

    def classify(self, query, intents, *, timeout):
        raise RuntimeError("connection refused")


# Every query is ambiguous and no embedding answer clears 0.99: a failing LLM leaves no answer.
FAILING = {"threshold": 0.99, "ambiguity_low": 0.0, "ambiguity_high": 1.01}


def test_fallback_never_picks_the_cheapest_tier(encoder):
    router = compile_router(make_snapshot(encoder, policy=Policy(method="centroid", **FAILING)))

    decision = router.route("is it going to rain later", encoder=encoder, llm=BrokenLLM())

    assert decision.stage == "fallback"
    assert decision.complexity == "simple"
    assert decision.tier == "middle"


def test_fallback_with_two_tiers_takes_the_upper_one(encoder):
    router = compile_router(
        make_snapshot(
            encoder, tiers=(CHEAP, POWERFUL), policy=Policy(method="centroid", threshold=0.45)
        )
    )

    assert router.route("", encoder=encoder).tier == "powerful"
    assert middle_tier([CHEAP, POWERFUL]) is POWERFUL


def test_configured_fallback_tier_is_used(encoder):
    policy = Policy(method="centroid", fallback_tier="powerful", **FAILING)
    router = compile_router(make_snapshot(encoder, policy=policy))

    decision = router.route("is it going to rain later", encoder=encoder, llm=BrokenLLM())

    assert decision.tier == "powerful"


@pytest.mark.parametrize(
    ("query", "complexity", "tier"),
    [
        ("explain the rules of cricket to me", "simple", "cheap"),
        ("what's 2+2?", "simple", "cheap"),
    ],
)
def test_out_of_scope_is_a_result_whose_tier_follows_complexity(
    router, encoder, query, complexity, tier
):
    decision = router.route(query, encoder=encoder)

    assert (decision.intent, decision.stage) == (None, "fallback")
    assert decision.complexity == complexity
    assert decision.tier == tier
    assert not any(note.startswith("fallback tier") for note in decision.trace.notes)
    assert "no intent: the tier follows complexity and rules" in decision.trace.notes


def test_out_of_scope_complex_query_gets_the_complex_floor(encoder):
    complexity = {
        "simple": ["hi", "what time is it", "thanks"],
        "complex": [
            "design a distributed system for global payments with failover and auditing",
            "compare three architectures for multi-region replication step by step",
        ],
    }
    policy = Policy(method="centroid", threshold=0.45, fallback_intent="greeting")
    router = compile_router(make_snapshot(encoder, policy=policy, complexity=complexity))

    decision = router.route(
        "Design a distributed system for real-time fraud detection across regions, with "
        "trade-offs, failure modes and a migration plan step by step",
        encoder=encoder,
    )

    assert decision.stage == "fallback" and decision.trace.fallback_reason
    assert decision.complexity == "complex"
    assert decision.tier == "powerful"
    # The fallback intent's handler serves it, but the tier follows its complexity.
    assert (decision.intent, decision.handler) == ("greeting", "handlers.greeting")


def test_failure_with_an_intent_minimum_above_the_fallback_tier_takes_the_minimum(encoder):
    intents = [IntentSpec(name, f"handlers.{name}", min_tier="powerful") for name in EXAMPLES]
    policy = Policy(method="centroid", fallback_intent="billing", **FAILING)
    router = compile_router(make_snapshot(encoder, intents=intents, policy=policy))

    decision = router.route("is it going to rain later", encoder=encoder, llm=BrokenLLM())

    assert decision.stage == "fallback" and decision.intent == "billing"
    assert decision.tier == "powerful"


def test_baseline_is_the_most_expensive_enabled_tier(encoder):
    disabled_top = TierSpec("top", 4, "openai", "top", 100.0, 400.0, 0.99, enabled=False)
    router = compile_router(
        make_snapshot(
            encoder, tiers=(*TIERS, disabled_top), policy=Policy(method="centroid", threshold=0.4)
        )
    )

    decision = router.route("will it rain tomorrow", encoder=encoder)

    input_tokens, output_tokens = 4, 150  # "will it rain tomorrow"; simple
    expected = (input_tokens * 15.0 + output_tokens * 75.0) / 1e6
    assert abs(decision.baseline_cost_usd - expected) < 1e-12
    assert decision.tier != "top"


@pytest.mark.parametrize(
    "changes",
    [
        {"llm_budget_seconds": 0.0},
        {"llm_budget_seconds": float("nan")},
        {"llm_timeout_seconds": -1.0},
        {"near_duplicate_similarity": 0.0},
    ],
)
def test_invalid_llm_and_near_duplicate_settings_are_refused(router, encoder, changes):
    from dataclasses import replace

    from routing.engine import SnapshotError

    with pytest.raises(SnapshotError, match=next(iter(changes))):
        router.route("hello", encoder=encoder, policy=replace(router.snapshot.policy, **changes))
