import time

import pytest

from routing.engine import LocalDecisionCache, RuleSpec, SnapshotError, compile_router
from routing.engine.rules import (
    MAX_RULES_PER_ROUTER,
    REGEX_TIMEOUT_SECONDS,
    compile_rules,
    evaluate_rules,
)
from tests.engine.conftest import make_snapshot


def test_higher_priority_rule_decides_when_several_match(encoder):
    rules = (
        RuleSpec(1, "keyword", "refund", priority=10, action="route", intent="billing"),
        RuleSpec(2, "keyword", "flight", priority=50, action="route", intent="flight_booking"),
    )
    router = compile_router(make_snapshot(encoder, rules=rules))

    decision = router.route("refund my flight please", encoder=encoder)

    assert decision.intent == "flight_booking"
    assert decision.stage == "rule"
    assert decision.trace.matched_rules == [2, 1]


def test_route_rule_sets_intent_with_full_confidence(encoder):
    rules = (
        RuleSpec(7, "regex", r"\binvoice\s+#?\d+", priority=1, action="route", intent="billing"),
    )
    router = compile_router(make_snapshot(encoder, rules=rules))

    decision = router.route("Where is INVOICE #4411?", encoder=encoder)

    assert (decision.intent, decision.stage, decision.confidence) == ("billing", "rule", 1.0)
    assert decision.handler == "handlers.billing"


def test_block_rule_blocks_with_reason_and_no_cost(encoder):
    rules = (
        RuleSpec(3, "keyword", "credit card number", priority=5, action="block", reason="PII"),
        RuleSpec(4, "keyword", "card", priority=1, action="route", intent="billing"),
    )
    router = compile_router(make_snapshot(encoder, rules=rules))

    decision = router.route("here is my credit card number 4111", encoder=encoder)

    assert decision.blocked is True
    assert decision.block_reason == "PII"
    assert (decision.intent, decision.tier, decision.estimated_cost_usd) == (None, None, 0.0)


def test_min_tier_rule_raises_the_tier_but_lets_the_classifier_choose_the_intent(encoder):
    rules = (RuleSpec(5, "keyword", "urgent", priority=1, action="min_tier", tier="powerful"),)
    router = compile_router(make_snapshot(encoder, rules=rules))

    decision = router.route("urgent: will it rain tomorrow", encoder=encoder)

    assert decision.intent == "weather"
    assert decision.stage == "embedding"
    assert decision.tier == "powerful"
    assert decision.trace.matched_rules == [5]


def test_keyword_matches_whole_words_case_insensitively():
    rules = compile_rules((RuleSpec(1, "keyword", "Cat", priority=1, action="block"),))

    assert evaluate_rules(rules, "my CAT is ill").decisive is not None
    assert evaluate_rules(rules, "concatenate these").decisive is None


def test_pathological_regex_gives_up_instead_of_hanging():
    rules = compile_rules(
        (
            RuleSpec(1, "regex", r"(a|aa)+$", priority=2, action="block"),
            RuleSpec(2, "keyword", "hello", priority=1, action="block"),
        )
    )
    query = "hello " + "a" * 60 + "!"

    started = time.perf_counter()
    outcome = evaluate_rules(rules, query)
    elapsed = time.perf_counter() - started

    assert outcome.timed_out == [1]
    assert outcome.decisive is not None and outcome.decisive.id == 2
    assert elapsed < 2.0


def test_timed_out_min_tier_rule_still_forces_its_tier():
    rules = compile_rules(
        (RuleSpec(1, "regex", r"(a|aa)+$", priority=2, action="min_tier", tier="strong"),)
    )

    outcome = evaluate_rules(rules, "a" * 60 + "!")

    assert outcome.timed_out == [1]
    assert outcome.min_tiers == ["strong"]


def test_rule_routing_to_unknown_intent_is_a_snapshot_error(encoder):
    rules = (RuleSpec(1, "keyword", "x", priority=1, action="route", intent="nope"),)

    with pytest.raises(SnapshotError, match="unknown intent 'nope'"):
        compile_router(make_snapshot(encoder, rules=rules))


def test_invalid_regex_is_a_snapshot_error(encoder):
    rules = (RuleSpec(9, "regex", "(unclosed", priority=1, action="block"),)

    with pytest.raises(SnapshotError, match="rule 9"):
        compile_router(make_snapshot(encoder, rules=rules))


def _catastrophic_rules(count: int, action: str = "block") -> tuple[RuleSpec, ...]:
    return tuple(
        RuleSpec(i, "regex", r"(a|a)+$", priority=count - i, action=action) for i in range(count)
    )


def test_many_pathological_rules_share_one_budget_per_query():
    rules = compile_rules(_catastrophic_rules(50))

    outcome = evaluate_rules(rules, "a" * 40 + "!", budget_seconds=0.05)

    # Every rule is accounted for, in priority order: timed out, or skipped once the budget ran out.
    assert outcome.timed_out + outcome.over_budget == list(range(50))
    assert outcome.over_budget  # most were never run
    # Each search that times out spends at least the per-rule timeout of the budget.
    assert outcome.searches <= 0.05 / REGEX_TIMEOUT_SECONDS + 1
    assert outcome.decisive is None and outcome.matched == []


def test_trace_names_the_rules_that_timed_out_not_no_match(encoder):
    router = compile_router(make_snapshot(encoder, rules=_catastrophic_rules(50)))

    decision = router.route("a" * 40 + "!", encoder=encoder)

    rules_stage = decision.trace.stages[0]
    assert rules_stage.stage == "rules"
    assert "no match" in rules_stage.outcome and "timed out: 0" in rules_stage.outcome
    assert "over budget, skipped:" in rules_stage.outcome
    named = " ".join(note for note in decision.trace.notes if note.startswith("rules "))
    assert all(f" {i}," in named or f" {i} " in named for i in range(50))
    assert not decision.blocked  # a timed-out block rule is skipped, the query is still routed


def test_more_rules_than_the_cap_is_a_snapshot_error(encoder):
    rules = tuple(
        RuleSpec(i, "keyword", f"word{i}", priority=1, action="block")
        for i in range(MAX_RULES_PER_ROUTER + 1)
    )
    compile_rules(rules[:MAX_RULES_PER_ROUTER])  # the cap itself is fine

    with pytest.raises(SnapshotError, match=f"at most {MAX_RULES_PER_ROUTER}"):
        compile_router(make_snapshot(encoder, rules=rules))


def test_a_batch_spends_at_most_the_request_budget_on_rules(encoder, monkeypatch):
    from routing.engine import rules as rules_module

    monkeypatch.setattr(rules_module, "RULES_REQUEST_BUDGET_SECONDS", 0.2)
    router = compile_router(make_snapshot(encoder, rules=_catastrophic_rules(50)))

    decisions = router.route_batch([f"{'a' * 40}{'!' * i}" for i in range(1, 11)], encoder=encoder)

    # The first query spent the request's budget: every later query skipped every rule.
    for decision in decisions[1:]:
        assert "over budget, skipped: 0, 1, 2" in decision.trace.stages[0].outcome
        assert any("0.2 s per request" in note for note in decision.trace.notes)


# -- conversation rules: the routed turn and the conversation's earlier user turns ----------


def test_a_conversation_rule_matches_an_earlier_turn_and_a_query_rule_does_not():
    rules = compile_rules(
        (
            RuleSpec(1, "keyword", "outage", 5, "min_tier", tier="powerful", scope="conversation"),
            RuleSpec(2, "keyword", "refund", 1, "route", intent="billing"),
        )
    )

    outcome = evaluate_rules(
        rules, "commit it", earlier_turns=("prod outage since 9am", "and a refund too")
    )

    assert [rule.id for rule in outcome.matched] == [1]
    assert outcome.min_tiers == ["powerful"] and outcome.in_earlier_turns == [1]
    assert outcome.decisive is None  # the refund rule only reads the last turn


def test_a_conversation_rule_matching_the_last_turn_is_not_an_earlier_turn_match():
    rules = compile_rules(
        (RuleSpec(1, "keyword", "outage", 5, "block", reason="ops", scope="conversation"),)
    )

    outcome = evaluate_rules(rules, "the outage again", earlier_turns=("hello",))

    assert outcome.decisive.id == 1 and outcome.in_earlier_turns == []


def test_an_unknown_rule_scope_is_refused_at_compile_time():
    with pytest.raises(SnapshotError, match="unknown scope"):
        compile_rules((RuleSpec(1, "keyword", "x", 1, "block", reason="r", scope="session"),))


def test_a_follow_up_routes_on_a_conversation_rule_its_earlier_turn_matched(encoder):
    rules = (
        RuleSpec(5, "keyword", "urgent", 1, "min_tier", tier="powerful", scope="conversation"),
    )
    router = compile_router(make_snapshot(encoder, rules=rules))

    alone = router.route("will it rain tomorrow", encoder=encoder)
    follow_up = router.route(
        "will it rain tomorrow", encoder=encoder, earlier_turns=("urgent: I fly at noon",)
    )

    assert alone.tier != "powerful" and alone.trace.matched_rules == []
    assert follow_up.tier == "powerful" and follow_up.trace.matched_rules == [5]
    assert "rules 5 matched an earlier turn of the conversation" in follow_up.trace.notes


def test_earlier_turns_split_the_decision_cache_only_when_a_conversation_rule_exists(encoder):
    def two_turns(rules):
        router, cache = compile_router(make_snapshot(encoder, rules=rules)), LocalDecisionCache()
        router.route("will it rain tomorrow", encoder=encoder, cache=cache)
        return router.route(
            "will it rain tomorrow", encoder=encoder, cache=cache, earlier_turns=("urgent!",)
        )

    last_turn_rule = (RuleSpec(5, "keyword", "urgent", 1, "min_tier", tier="powerful"),)
    conversation_rule = (
        RuleSpec(5, "keyword", "urgent", 1, "min_tier", tier="powerful", scope="conversation"),
    )

    assert two_turns(last_turn_rule).cached is True  # earlier turns cannot change it
    second = two_turns(conversation_rule)
    assert (second.cached, second.tier) == (False, "powerful")
