"""A router that configures none of the hard-query features routes exactly as main did before
them: the same decisions, traces and policy digest for every query of the hard-query sets."""

from __future__ import annotations

import json

import pytest

from routing.engine import Policy, compile_router
from routing.engine.snapshot import policy_repr
from tests.engine.demo_engine import GOLDEN, demo_snapshot, hard_queries, summary


@pytest.fixture(scope="module")
def demo(encoder):
    return compile_router(demo_snapshot(encoder))


def test_the_demo_router_decides_every_hard_query_as_before(demo, encoder):
    before = json.loads(GOLDEN.read_text())["decisions"]
    queries = hard_queries()
    assert set(queries) == set(before)
    decisions = demo.route_batch(queries, encoder=encoder)
    now = {query: summary(decision) for query, decision in zip(queries, decisions, strict=True)}
    changed = [query for query in before if now[query] != before[query]]
    assert changed == []
    assert all(decision.language == "" for decision in decisions)
    assert all(decision.secondary_intents == [] for decision in decisions)


def test_the_policy_digest_ignores_hard_query_fields_left_at_their_defaults():
    policy = Policy(method="knn", threshold=0.4)
    names = ", ".join(
        f"{name}={getattr(policy, name)!r}"
        for name in (
            "method top_k aggregation threshold similarity_floor ambiguity_low ambiguity_high "
            "fallback_intent fallback_tier cache_ttl_seconds latency_budget_ms "
            "complexity_min_quality expected_output_tokens llm_timeout_seconds "
            "llm_budget_seconds near_duplicate_similarity"
        ).split()
    )
    assert policy_repr(policy) == f"Policy({names})"
    assert "detect_negation=True" in policy_repr(Policy(detect_negation=True))
    assert "quality_target=0.95" in policy_repr(Policy(quality_target=0.95))
