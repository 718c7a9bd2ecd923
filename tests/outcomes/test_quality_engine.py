"""The quality predictor without Django: fitting on a set whose right threshold is known, the
quality target's threshold, the head document, and tier selection through the engine."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from analytics.outcomes.training import held_out_mask, quality_head_fit
from routing.engine import Policy, compile_router
from routing.engine.errors import SnapshotError
from routing.engine.quality import (
    NEVER,
    QualityCurve,
    quality_head_document,
    quality_head_from_document,
)
from tests.outcomes.synthetic import QUERIES, TableEncoder, synthetic_outcomes, synthetic_snapshot

POLICY = Policy(method="centroid", threshold=0.3, similarity_floor=-1.0)


@pytest.fixture(scope="module")
def fitted():
    queries, vectors, scores, easy = synthetic_outcomes()
    fit = quality_head_fit(
        queries=queries,
        vectors=vectors,
        scores=scores,
        tier_order=["cheap", "best"],
        encoder_name="table",
    )
    return fit, queries, easy


def test_curve_threshold_is_the_lowest_from_which_every_higher_one_meets_the_target():
    curve = QualityCurve(
        thresholds=np.array([0.1, 0.3, 0.5, 0.7, 0.9, 0.95]),
        quality=np.array([0.80, 0.90, 0.96, 0.94, 0.97, 1.0]),
        tier_share=np.array([1.0, 0.8, 0.6, 0.4, 0.2, 0.0]),
        held_out=10,
        tier_mean=0.8,
        best_mean=1.0,
    )
    assert curve.threshold_for(0.95) == 0.9  # the bump at 0.5 is not trusted: 0.7 misses
    assert curve.threshold_for(0.93) == 0.5
    assert curve.threshold_for(0.5) == 0.1
    assert curve.at(0.9) == (0.97, 0.2)
    unreachable = replace(curve, quality=np.array([0.5, 0.6, 0.7, 0.8, 0.9, 0.99]))
    assert unreachable.threshold_for(0.995) == NEVER
    assert unreachable.at(NEVER) == (1.0, 0.0)


def test_fit_on_a_separable_set_sends_exactly_the_easy_queries_to_the_cheap_tier(fitted):
    fit, queries, easy = fitted
    (model,) = fit.head.tiers
    assert model.tier == "cheap" and fit.head.best_tier == "best"
    assert fit.metrics["cheap"]["auc"] == 1.0
    held = held_out_mask(queries, fraction=0.3, seed=0)
    assert fit.metrics["cheap"]["held_out"] == int(held.sum())
    # At a 100% target the threshold keeps every hard query on the best tier and no easy one.
    quality, cheap_share = model.curve.at(model.curve.threshold_for(1.0))
    assert quality == 1.0
    assert cheap_share == pytest.approx(easy[held].mean(), abs=1e-12)
    # Random routing's end points on the same held-out queries.
    assert model.curve.tier_mean == pytest.approx(easy[held].mean(), abs=1e-12)
    assert model.curve.best_mean == 1.0


def test_fit_skips_a_tier_without_both_kinds_of_outcome_and_says_why():
    queries, vectors, scores, _ = synthetic_outcomes(n=100)
    scores["cheap"] = dict.fromkeys(scores["cheap"], 1.0)
    fit = quality_head_fit(
        queries=queries,
        vectors=vectors,
        scores=scores,
        tier_order=["cheap", "best"],
        encoder_name="t",
    )
    assert fit.head is None
    assert "both kinds" in fit.metrics["cheap"]["skipped"]


def test_knn_head_separates_the_synthetic_set_too():
    queries, vectors, scores, _ = synthetic_outcomes()
    fit = quality_head_fit(
        queries=queries,
        vectors=vectors,
        scores=scores,
        tier_order=["cheap", "best"],
        encoder_name="table",
        method="knn",
    )
    assert fit.metrics["cheap"]["auc"] == 1.0
    head = quality_head_from_document(quality_head_document(fit.head))
    assert head.tiers[0].neighbour_vectors.shape == (fit.metrics["cheap"]["train"], 8)


def test_head_document_round_trips_and_bad_documents_are_refused(fitted):
    fit, _, _ = fitted
    document = quality_head_document(fit.head)
    head = quality_head_from_document(document)
    model, original = head.tiers[0], fit.head.tiers[0]
    vector = QUERIES["an easy question"]
    features = np.zeros(len(original.feature_mean))
    assert model.probability(vector, features) == original.probability(vector, features)
    with pytest.raises(SnapshotError, match="semroute.quality/1"):
        quality_head_from_document({"format": "other"})
    with pytest.raises(SnapshotError, match="other text features"):
        quality_head_from_document({**document, "features": ["words"]})
    with pytest.raises(SnapshotError, match="malformed"):
        quality_head_from_document({**document, "tiers": [{"method": "logistic"}]})


def _route(snapshot, query):
    return compile_router(snapshot).route(query, encoder=TableEncoder(QUERIES))


def test_with_a_target_the_predictor_chooses_and_the_trace_says_why(fitted):
    fit, _, _ = fitted
    snapshot = synthetic_snapshot(
        policy=replace(POLICY, quality_target=0.95), quality_head=fit.head
    )
    easy = _route(snapshot, "an easy question")
    assert easy.tier == "cheap"
    (prediction,) = easy.trace.tier_predictions
    assert prediction.tier == "cheap" and prediction.good_enough
    assert prediction.probability >= prediction.threshold
    assert any(
        note.startswith("quality predictor: cheap is good enough") for note in easy.trace.notes
    )
    hard = _route(snapshot, "a hard question")
    assert hard.tier == "best"
    assert not hard.trace.tier_predictions[0].good_enough
    assert any(note.startswith("quality predictor: best (cheap p") for note in hard.trace.notes)


def test_intent_minimum_tier_still_applies_on_top_of_the_predictor(fitted):
    fit, _, _ = fitted
    snapshot = synthetic_snapshot(
        policy=replace(POLICY, quality_target=0.95), quality_head=fit.head
    )
    decision = _route(snapshot, "a question for the complaint desk")
    assert decision.intent == "complaint"
    assert decision.trace.tier_predictions[0].good_enough  # the predictor says cheap...
    assert decision.tier == "middle"  # ...the intent's minimum tier says middle


def test_without_a_target_or_a_head_decisions_are_unchanged(fitted):
    fit, _, _ = fitted
    plain = synthetic_snapshot(policy=POLICY)
    with_head = synthetic_snapshot(policy=POLICY, quality_head=fit.head)
    for query in QUERIES:
        before, after = _route(plain, query), _route(with_head, query)
        assert (after.tier, after.intent, after.trace.notes) == (
            before.tier,
            before.intent,
            before.trace.notes,
        )
        assert after.trace.tier_predictions == []
    # A target without a head changes nothing either.
    targeted = synthetic_snapshot(policy=replace(POLICY, quality_target=0.95))
    assert _route(targeted, "a hard question").tier == _route(plain, "a hard question").tier


def test_a_head_from_another_encoder_is_ignored_with_a_note(fitted):
    fit, _, _ = fitted
    snapshot = synthetic_snapshot(
        policy=replace(POLICY, quality_target=0.95),
        quality_head=replace(fit.head, encoder_name="another-encoder"),
    )
    decision = _route(snapshot, "an easy question")
    assert decision.trace.tier_predictions == []
    assert any("fitted with encoder 'another-encoder'" in note for note in decision.trace.notes)
    assert decision.tier == _route(synthetic_snapshot(policy=POLICY), "an easy question").tier


def test_a_quality_target_outside_0_1_is_refused():
    with pytest.raises(SnapshotError, match="quality_target"):
        compile_router(synthetic_snapshot(policy=replace(POLICY, quality_target=1.5)))
