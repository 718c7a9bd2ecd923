"""The in-domain gate: a confident intent is still "no intent" when the query is far from it."""

from dataclasses import replace

import numpy as np
import pytest

from routing.engine import IntentSpec, Policy, RouterSnapshot, compile_router
from routing.engine.classifiers import (
    DEFAULT_SIMILARITY_FLOOR,
    MIN_EXAMPLES_FOR_LEARNED_FLOOR,
    learn_similarity_floor,
)
from tests.engine.conftest import FakeEncoder

DIM = 8


def _clustered_router(policy: Policy, per_intent: int = 12):
    """Intents a, b, c clustered around axes 0, 1, 2; queries: in domain (near a) and far away."""
    rng = np.random.default_rng(7)
    table, texts, labels = {}, [], []
    for axis, name in enumerate("abc"):
        for j in range(per_intent):
            text = f"{name}{j}"
            table[text] = np.eye(DIM)[axis] + 0.15 * rng.normal(size=DIM)
            texts.append(text)
            labels.append(name)
    table["near a"] = np.eye(DIM)[0] + 0.05 * rng.normal(size=DIM)
    table["leaning to a"] = np.eye(DIM)[0] + 0.6 * (np.eye(DIM)[4] + np.eye(DIM)[5])
    # Mostly along an axis no intent uses, leaning towards a: linear still prefers a.
    table["elsewhere"] = 0.35 * np.eye(DIM)[0] + np.eye(DIM)[6]
    encoder = FakeEncoder(table)
    snapshot = RouterSnapshot(
        slug="gate",
        version=1,
        encoder_name=encoder.name,
        intents=tuple(IntentSpec(name, f"handlers.{name}") for name in "abc"),
        example_texts=tuple(texts),
        example_intents=tuple(labels),
        example_vectors=encoder.encode(texts),
        policy=policy,
    )
    return compile_router(snapshot), encoder


@pytest.mark.parametrize("method", ["centroid", "knn", "linear"])
def test_query_far_from_every_intent_is_out_of_domain_for_every_method(method):
    router, encoder = _clustered_router(Policy(method=method, threshold=0.0, top_k=3))

    decision = router.route("elsewhere", encoder=encoder)

    assert decision.intent is None
    assert decision.stage == "fallback"
    assert decision.trace.top_intents[0].intent == "a"
    assert decision.trace.similarity < decision.trace.similarity_floor
    assert "out of domain: similarity to a" in decision.trace.fallback_reason
    assert any(note.startswith("out of domain") for note in decision.trace.notes)
    embedding = next(s for s in decision.trace.stages if s.stage == "embedding")
    assert embedding.outcome.startswith("out of domain")


@pytest.mark.parametrize("method", ["centroid", "knn", "linear"])
def test_query_near_an_intent_passes_the_gate(method):
    router, encoder = _clustered_router(Policy(method=method, threshold=0.0, top_k=3))

    decision = router.route("near a", encoder=encoder)

    assert (decision.intent, decision.stage) == ("a", "embedding")
    assert decision.trace.similarity >= decision.trace.similarity_floor
    assert decision.trace.notes == [] or not decision.trace.notes[0].startswith("out of domain")


def test_query_added_as_an_example_passes_the_gate_despite_a_far_centroid():
    router, encoder = _clustered_router(Policy(method="linear", threshold=0.0))
    assert router.route("elsewhere", encoder=encoder).intent is None
    snapshot = router.snapshot
    corrected = compile_router(
        replace(
            snapshot,
            example_texts=(*snapshot.example_texts, "elsewhere"),
            example_intents=(*snapshot.example_intents, "a"),
            example_vectors=np.vstack([snapshot.example_vectors, encoder.encode(["elsewhere"])]),
        )
    )

    decision = corrected.route("elsewhere", encoder=encoder)

    assert decision.trace.similarity < decision.trace.similarity_floor
    assert decision.intent == "a"
    assert "near-duplicate example 1.000" in decision.trace.stages[2].outcome


def test_gate_keeps_the_calibrated_confidence():
    gated, encoder = _clustered_router(Policy(method="linear", threshold=0.0))
    ungated, _ = _clustered_router(Policy(method="linear", threshold=0.0, similarity_floor=-1.0))

    rejected = gated.route("elsewhere", encoder=encoder)
    accepted = ungated.route("elsewhere", encoder=encoder)

    assert accepted.intent == "a"  # without the gate the head is confidently wrong
    assert rejected.confidence == pytest.approx(accepted.confidence)
    assert rejected.calibrated is accepted.calibrated is True
    assert accepted.confidence > 0.5


def test_policy_floor_overrides_the_learned_one():
    router, encoder = _clustered_router(Policy(method="centroid", threshold=0.0))
    learned = router.route("elsewhere", encoder=encoder)
    lenient = Policy(method="centroid", threshold=0.0, similarity_floor=0.1)
    strict = Policy(method="centroid", threshold=0.0, similarity_floor=0.99)

    let_through = router.route("elsewhere", encoder=encoder, policy=lenient)
    turned_away = router.route("leaning to a", encoder=encoder, policy=strict)

    assert learned.intent is None and learned.trace.similarity > 0.1
    assert let_through.intent == "a"
    assert let_through.trace.similarity_floor == 0.1
    assert turned_away.intent is None
    assert "policy floor 0.990" in turned_away.trace.fallback_reason


def test_out_of_domain_query_in_the_ambiguous_band_skips_the_llm_stage():
    class RecordingLLM:
        calls = 0

        def classify(self, query, intents, *, timeout):
            RecordingLLM.calls += 1
            return "a"

    policy = Policy(method="centroid", threshold=0.0, ambiguity_low=0.0, ambiguity_high=1.01)
    router, encoder = _clustered_router(policy)

    decision = router.route("elsewhere", encoder=encoder, llm=RecordingLLM())

    assert decision.intent is None
    assert RecordingLLM.calls == 0


def test_learned_floor_is_a_low_percentile_of_held_out_similarities():
    rng = np.random.default_rng(3)
    centres = np.eye(3, 16)
    vectors = np.vstack([centres[i] + 0.2 * rng.normal(size=(40, 16)) for i in range(3)])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels = np.repeat(np.arange(3), 40)

    floor = learn_similarity_floor(vectors, labels, 3)

    own = []
    for i in range(len(labels)):
        rest = vectors[(labels == labels[i]) & (np.arange(len(labels)) != i)].sum(axis=0)
        own.append(vectors[i] @ rest / np.linalg.norm(rest))
    assert floor.source == "learned"
    assert floor.value == pytest.approx(np.percentile(own, 1.0), abs=1e-5)


def test_floor_never_drops_below_what_other_intents_reach():
    # Varied examples: held-out similarities are low, so the cross-intent bound decides.
    rng = np.random.default_rng(4)
    vectors = rng.normal(size=(60, 16))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels = np.repeat(np.arange(3), 20)

    floor = learn_similarity_floor(vectors, labels, 3)

    centroids = np.vstack([vectors[labels == i].mean(axis=0) for i in range(3)])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    to_others = (vectors @ centroids.T)[labels[:, None] != np.arange(3)[None, :]]
    assert floor.value == pytest.approx(np.percentile(to_others, 75), abs=1e-5)


def test_tiny_single_intent_router_uses_the_default_floor():
    vectors = np.eye(4, 8, dtype=np.float32)
    labels = np.zeros(4, dtype=np.int64)
    assert 4 < MIN_EXAMPLES_FOR_LEARNED_FLOOR

    floor = learn_similarity_floor(vectors, labels, 1)

    assert (floor.value, floor.source) == (DEFAULT_SIMILARITY_FLOOR, "default")
