from dataclasses import fields, replace

import numpy as np
import pytest

from routing.engine import EncoderMismatch, Policy, RuleSpec, compile_router
from routing.engine.decision import plain
from routing.engine.router import policy_digest
from tests.engine.conftest import FakeEncoder, make_snapshot


def test_trace_explains_an_embedding_decision(router, encoder):
    decision = router.route("will it rain tomorrow in rome", encoder=encoder)
    trace = decision.trace

    assert [s.stage for s in trace.stages] == [
        "rules",
        "encode",
        "embedding",
        "complexity",
        "tier_policy",
    ]
    assert all(s.micros >= 0 for s in trace.stages)
    assert trace.stages[2].outcome.startswith("weather")
    assert len(trace.top_intents) == 4  # every intent, up to five
    scores = [s.score for s in trace.top_intents]
    assert scores == sorted(scores, reverse=True)
    assert trace.top_intents[0].intent == "weather"
    assert all(s.threshold == 0.45 for s in trace.top_intents)
    assert len(trace.nearest_examples) in range(1, 6)
    nearest = trace.nearest_examples[0]
    assert (nearest.intent, nearest.text) == ("weather", "will it rain tomorrow")
    assert nearest.similarity > 0.7
    assert trace.fallback_reason == ""
    assert plain(decision).keys() - {"trace"} == {f.name for f in fields(decision)} - {"trace"}


def test_trace_lists_matched_rules(encoder):
    rules = (
        RuleSpec(11, "keyword", "rain", priority=1, action="min_tier", tier="middle"),
        RuleSpec(12, "keyword", "snow", priority=1, action="min_tier", tier="powerful"),
    )
    router = compile_router(
        make_snapshot(encoder, rules=rules, policy=Policy(method="centroid", threshold=0.4))
    )

    decision = router.route("rain tomorrow?", encoder=encoder)

    assert decision.trace.matched_rules == [11]
    assert decision.trace.stages[0].outcome == "matched 11"


def test_encoder_with_another_name_is_refused(router):
    other = FakeEncoder({"x": [1.0, 0.0]}, name="openai:text-embedding-3-small")

    with pytest.raises(EncoderMismatch, match="minilm-l6-v2-int8"):
        router.route("x", encoder=other)


def test_empty_query_is_out_of_scope_with_fallback_and_no_encoding(base_snapshot):
    encoder = FakeEncoder({"unused": [1.0] * 384}, name=base_snapshot.encoder_name)
    router = compile_router(base_snapshot)

    decision = router.route("   ", encoder=encoder)

    assert (decision.intent, decision.stage, decision.trace.fallback_reason) == (
        None,
        "fallback",
        "empty query",
    )
    assert decision.tier == "middle"
    assert encoder.calls == []


@pytest.mark.parametrize(
    "query",
    [
        "☔️🌧️ rain tomorrow? 🤔",
        "Wird es morgen regnen? will it rain tomorrow 明天会下雨吗",
        "🙂" * 500,
        "book a flight " * 3000,
        "\x00\t\n",
    ],
)
def test_unusual_queries_route_without_errors(router, encoder, query):
    decision = router.route(query, encoder=encoder)

    assert decision.stage in ("embedding", "fallback")
    assert np.isfinite(decision.confidence)
    assert decision.tier is not None
    assert decision.estimated_cost_usd > 0


def test_mixed_language_weather_query_finds_weather(router, encoder):
    assert (
        router.route("Wird es morgen regnen? will it rain tomorrow", encoder=encoder).intent
        == "weather"
    )


def test_route_batch_encodes_uncached_queries_in_one_call(base_snapshot, encoder):
    class CountingEncoder:
        name, dim, calls = encoder.name, encoder.dim, []

        def encode(self, texts):
            self.calls.append(list(texts))
            return encoder.encode(texts)

    counting = CountingEncoder()
    router = compile_router(base_snapshot)

    decisions = router.route_batch(["will it rain", "", "book a flight to oslo"], encoder=counting)

    assert [d.intent for d in decisions] == ["weather", None, "flight_booking"]
    assert counting.calls == [["will it rain", "book a flight to oslo"]]


@pytest.mark.parametrize("method", ["centroid", "linear", "knn"])
def test_example_order_does_not_change_the_decision_or_its_trace(base_snapshot, encoder, method):
    # Grouped by intent (the engine reads each intent's vectors as a view) and interleaved
    # (it gathers them by index) must explain a decision identically.
    interleaved = np.argsort(np.arange(len(base_snapshot.example_texts)) % 3, kind="stable")
    shuffled = replace(
        base_snapshot,
        example_texts=tuple(base_snapshot.example_texts[i] for i in interleaved),
        example_intents=tuple(base_snapshot.example_intents[i] for i in interleaved),
        example_vectors=base_snapshot.example_vectors[interleaved],
        policy=replace(base_snapshot.policy, method=method),
    )
    grouped = replace(base_snapshot, policy=shuffled.policy)
    query = "is it going to snow this weekend"

    decisions = [
        compile_router(snapshot).route(query, encoder=encoder) for snapshot in (grouped, shuffled)
    ]

    assert isinstance(compile_router(grouped).examples_by_intent[0], slice)
    assert not any(isinstance(m, slice) for m in compile_router(shuffled).examples_by_intent)
    first, second = (d.trace for d in decisions)
    assert decisions[0].intent == decisions[1].intent == "weather"
    assert [(e.intent, e.text) for e in first.nearest_examples] == [
        (e.intent, e.text) for e in second.nearest_examples
    ]
    assert [e.similarity for e in first.nearest_examples] == pytest.approx(
        [e.similarity for e in second.nearest_examples], abs=1e-6
    )
    assert len(first.nearest_examples) == 5


def test_decision_names_the_policy_that_made_it(router, encoder):
    override = replace(router.snapshot.policy, threshold=0.3)

    saved = router.route("will it rain tomorrow in rome", encoder=encoder)
    other = router.route("will it rain tomorrow in rome", encoder=encoder, policy=override)

    assert saved.policy_digest == policy_digest(router.snapshot.policy) == router.policy_digest
    assert other.policy_digest == policy_digest(override) != saved.policy_digest
    assert len(saved.policy_digest) == 12
