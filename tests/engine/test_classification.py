import math
from dataclasses import replace

import numpy as np
import pytest

from routing.engine import IntentSpec, Policy, RouterSnapshot, compile_router
from tests.engine.conftest import EXAMPLES, FakeEncoder, make_snapshot


def unit_at(similarity: float, spread: int = 1) -> list[float]:
    """A 3-d vector with the given cosine similarity to the query [1, 0, 0]."""
    rest = math.sqrt(max(0.0, 1 - similarity**2))
    return [similarity, rest, 0.0] if spread == 1 else [similarity, 0.0, rest]


@pytest.mark.parametrize("method", ["centroid", "knn", "linear"])
@pytest.mark.parametrize(
    ("query", "intent"),
    [
        ("is it going to snow in oslo tomorrow", "weather"),
        ("please book me a flight to madrid", "flight_booking"),
        ("i was overcharged on my bill, refund it", "billing"),
    ],
)
def test_each_method_classifies_a_clear_query(encoder, method, query, intent):
    policy = Policy(method=method, threshold=0.3, top_k=3)
    router = compile_router(make_snapshot(encoder, policy=policy))

    decision = router.route(query, encoder=encoder)

    assert decision.intent == intent
    assert decision.stage == "embedding"


def test_query_below_threshold_is_out_of_scope_not_a_forced_guess(router, encoder):
    decision = router.route("explain the rules of cricket to me", encoder=encoder)

    assert decision.intent is None
    assert decision.stage == "fallback"
    assert "no intent cleared its threshold" in decision.trace.fallback_reason
    best = decision.trace.top_intents[0]
    assert best.score < best.threshold


def test_out_of_scope_uses_the_configured_fallback_intent(encoder):
    policy = Policy(method="centroid", threshold=0.45, fallback_intent="greeting")
    router = compile_router(make_snapshot(encoder, policy=policy))

    decision = router.route("explain the rules of cricket to me", encoder=encoder)

    assert (decision.intent, decision.handler, decision.stage) == (
        "greeting",
        "handlers.greeting",
        "fallback",
    )


def test_per_intent_threshold_overrides_the_router_default(encoder):
    query = "is it raining in london"
    intents = [IntentSpec(name, f"handlers.{name}") for name in EXAMPLES]
    strict = [
        IntentSpec("weather", "handlers.weather", threshold=0.99),
        *[spec for spec in intents if spec.name != "weather"],
    ]
    policy = Policy(method="centroid", threshold=0.3)
    default_router = compile_router(make_snapshot(encoder, intents=intents, policy=policy))
    strict_router = compile_router(make_snapshot(encoder, intents=strict, policy=policy))

    assert default_router.route(query, encoder=encoder).intent == "weather"
    decision = strict_router.route(query, encoder=encoder)
    assert decision.intent is None
    assert decision.trace.top_intents[0].threshold == 0.99


def _knn_router(aggregation: str) -> tuple:
    # Query [1,0,0]. "near" has one very close example and one far one; "crowd" has two
    # moderately close ones; "far" fills the rest.
    table = {
        "q": [1.0, 0.0, 0.0],
        "near-1": unit_at(0.99),
        "near-2": unit_at(0.30, spread=2),
        "crowd-1": unit_at(0.95),
        "crowd-2": unit_at(0.94, spread=2),
        "far-1": unit_at(0.10),
        "far-2": unit_at(0.05, spread=2),
    }
    encoder = FakeEncoder(table)
    texts = ["near-1", "near-2", "crowd-1", "crowd-2", "far-1", "far-2"]
    labels = ["near", "near", "crowd", "crowd", "far", "far"]
    snapshot = RouterSnapshot(
        slug="knn",
        version=1,
        encoder_name=encoder.name,
        intents=tuple(IntentSpec(name, name) for name in ("near", "crowd", "far")),
        example_texts=tuple(texts),
        example_intents=tuple(labels),
        example_vectors=encoder.encode(texts),
        policy=Policy(method="knn", top_k=4, aggregation=aggregation, threshold=0.1),
    )
    return compile_router(snapshot), encoder


@pytest.mark.parametrize(
    ("aggregation", "winner", "score"),
    [
        ("max", "near", 0.99),  # the single nearest example decides
        ("mean", "crowd", 0.945),  # near averages 0.99 and 0.30
        ("sum", "crowd", (0.95 + 0.94) / 4),  # similarity-weighted vote over k=4
    ],
)
def test_knn_aggregations_differ_as_expected(aggregation, winner, score):
    router, encoder = _knn_router(aggregation)

    decision = router.route("q", encoder=encoder)

    assert decision.intent == winner
    assert decision.confidence == pytest.approx(score, abs=1e-3)
    assert decision.calibrated is False


def test_enough_examples_per_intent_gives_calibrated_confidence():
    rng = np.random.default_rng(1)
    centres = np.eye(4, 16)
    texts, labels, table = [], [], {}
    for i, name in enumerate("abcd"):
        for j in range(12):
            text = f"{name}{j}"
            table[text] = centres[i] + 0.3 * rng.normal(size=16)
            texts.append(text)
            labels.append(name)
    table["query"] = centres[2] + 0.05 * rng.normal(size=16)
    encoder = FakeEncoder(table)
    snapshot = RouterSnapshot(
        slug="cal",
        version=1,
        encoder_name=encoder.name,
        intents=tuple(IntentSpec(name, name) for name in "abcd"),
        example_texts=tuple(texts),
        example_intents=tuple(labels),
        example_vectors=encoder.encode(texts),
        policy=Policy(method="linear", threshold=0.5),
    )

    decision = compile_router(snapshot).route("query", encoder=encoder)

    assert decision.intent == "c"
    assert decision.calibrated is True
    assert 0.5 <= decision.confidence <= 1.0


def test_policy_override_switches_method_without_recompiling(router, encoder):
    override = Policy(method="knn", top_k=3, aggregation="max", threshold=0.3)

    decision = router.route("will it rain tomorrow in rome", encoder=encoder, policy=override)

    assert decision.intent == "weather"
    assert router.snapshot.policy.method == "centroid"


RETENTION = "I do NOT want to cancel my subscription"


@pytest.fixture(scope="module")
def corrected_snapshot(encoder):
    examples = {**EXAMPLES, "retention": [RETENTION]}
    return make_snapshot(encoder, examples=examples)


@pytest.mark.parametrize("method", ["centroid", "knn", "linear"])
@pytest.mark.parametrize("query", [RETENTION, "i do not want to cancel my  subscription"])
def test_a_query_that_is_an_example_routes_to_that_example_with_every_method(
    corrected_snapshot, encoder, method, query
):
    policy = Policy(method=method, threshold=0.45, top_k=3)
    router = compile_router(replace(corrected_snapshot, policy=policy))

    decision = router.route(query, encoder=encoder)

    assert (decision.intent, decision.stage) == ("retention", "embedding")
    assert "matched example" in decision.trace.stages[2].outcome
    assert any(note.startswith("matched example") for note in decision.trace.notes)


def test_the_opposite_request_is_not_a_near_duplicate(corrected_snapshot, encoder):
    # 0.972 from the retention example with this encoder: a bound of 0.97 would misroute it.
    router = compile_router(corrected_snapshot)

    decision = router.route("I want to cancel my subscription", encoder=encoder)

    assert decision.intent != "retention"
    assert not any(note.startswith("matched example") for note in decision.trace.notes)


def test_near_duplicate_bound_is_a_policy_field(corrected_snapshot, encoder):
    router = compile_router(corrected_snapshot)
    off = replace(corrected_snapshot.policy, near_duplicate_similarity=1.01)

    assert router.route(RETENTION, encoder=encoder).intent == "retention"
    assert (
        "matched example"
        not in router.route(RETENTION, encoder=encoder, policy=off).trace.stages[2].outcome
    )
