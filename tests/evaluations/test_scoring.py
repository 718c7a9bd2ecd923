"""Evaluation maths on hand-computed cases (no database)."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.evaluations import scoring
from analytics.evaluations.scoring import OUT_OF_SCOPE, Scores


def scores(rows, intent_thresholds=None):
    """rows: (expected, top, confidence, gated=False, fixed_predicted=... or absent)."""
    return Scores.build(
        expected=[row[0] for row in rows],
        top=[row[1] for row in rows],
        confidence=[row[2] for row in rows],
        gated=[len(row) > 3 and row[3] for row in rows],
        fixed=[len(row) > 4 for row in rows],
        fixed_predicted=[row[4] if len(row) > 4 else None for row in rows],
        intent_thresholds=intent_thresholds,
    )


# Eight queries: a b b c in scope (the c one wrongly scored as b), two out of scope, one gated,
# one decided by a rule.
SMALL = [
    ("a", "a", 0.9),
    ("a", "a", 0.4),  # right but under 0.5: rejected
    ("b", "b", 0.8),
    ("c", "b", 0.7),  # confidently wrong
    (None, "a", 0.6),  # out of scope accepted as a
    (None, "b", 0.3),  # out of scope rejected
    (None, "c", 0.95, True),  # gated: rejected at every threshold
    ("c", None, 1.0, False, "c"),  # a rule decided c
]


def test_metrics_at_a_threshold_match_the_hand_count():
    s = scores(SMALL)
    predicted = scoring.predictions_at(s, 0.5)
    assert list(predicted) == ["a", None, "b", "b", "a", None, None, "c"]
    m = scoring.headline_metrics(s.expected, predicted, s.top)
    assert m["in_scope_accuracy"]["value"] == pytest.approx(3 / 5)  # a, b, rule c
    assert m["oos_recall"]["value"] == pytest.approx(2 / 3)
    assert m["oos_precision"]["value"] == pytest.approx(2 / 3)  # rejected: a(0.4), oos, oos
    assert m["top1_accuracy"]["value"] == pytest.approx(3 / 5)  # a, a, b right; c wrong; rule None
    low, high = m["in_scope_accuracy"]["interval"]
    assert low < 0.6 < high and m["in_scope_accuracy"]["total"] == 5


def test_per_intent_precision_recall_f1_and_support():
    s = scores(SMALL)
    per = scoring.per_intent_metrics(s.expected, scoring.predictions_at(s, 0.5))
    assert per["a"] == {
        "precision": 0.5,
        "recall": 0.5,
        "f1": 0.5,
        "support": 2,
        "predicted": 2,
        "correct": 1,
    }
    assert per["b"]["precision"] == 0.5 and per["b"]["recall"] == 1.0
    assert per["b"]["f1"] == pytest.approx(2 / 3)
    assert per["c"]["recall"] == 0.5 and per["c"]["precision"] == 1.0
    assert per[OUT_OF_SCOPE]["support"] == 3 and list(per)[-1] == OUT_OF_SCOPE


def test_confusion_matrix_counts_expected_by_predicted():
    s = scores(SMALL)
    labels, counts = scoring.confusion_matrix(s.expected, scoring.predictions_at(s, 0.5))
    assert labels == ["a", "b", "c", OUT_OF_SCOPE]
    assert counts.tolist() == [[1, 0, 0, 1], [0, 1, 0, 0], [0, 1, 1, 0], [1, 0, 0, 2]]
    assert counts.sum() == len(SMALL)


def test_an_intents_own_threshold_is_kept_over_the_router_threshold():
    s = scores(SMALL, intent_thresholds={"a": 0.95})
    assert list(scoring.predictions_at(s, 0.5))[:2] == [None, None]


def synthetic(n_in=200, n_oos=100, seed=1):
    """In-scope right answers score 0.6-1.0, wrong ones 0.3-0.5, out-of-scope 0.0-0.55."""
    rng = np.random.default_rng(seed)
    rows = [("a", "a", float(c)) for c in rng.uniform(0.6, 1.0, n_in)]
    rows += [("a", "b", float(c)) for c in rng.uniform(0.3, 0.5, 20)]
    rows += [(None, "a", float(c)) for c in rng.uniform(0.0, 0.55, n_oos)]
    return scores(rows)


def test_target_threshold_is_the_highest_keeping_in_scope_accuracy():
    s = synthetic()
    # Every right answer scores >= 0.6: 200/220 in-scope stay right up to the lowest right one.
    threshold = scoring.threshold_for_target(s, 200 / 220)
    lowest_right = s.confidence[:200].min()
    assert threshold == pytest.approx(lowest_right)
    # Out of scope all score below 0.55 < threshold: every one rejected.
    predicted = scoring.predictions_at(s, threshold)
    assert scoring.headline_metrics(s.expected, predicted, s.top)["oos_recall"]["value"] == 1.0
    assert scoring.threshold_for_target(s, 0.99) is None  # 20 wrong answers: never 99%


def test_weighted_threshold_separates_the_synthetic_classes():
    s = synthetic()
    threshold = scoring.threshold_weighted(s, 0.5)
    assert s.confidence[220:].max() < threshold <= s.confidence[:200].min()


def test_per_intent_threshold_where_one_intent_needs_its_own():
    # Intent a: right answers 0.8-1.0, out-of-scope lands on it at 0.5-0.7; b is clean at 0.3+.
    rng = np.random.default_rng(2)
    rows = [("a", "a", float(c)) for c in rng.uniform(0.8, 1.0, 50)]
    rows += [(None, "a", float(c)) for c in rng.uniform(0.5, 0.7, 30)]
    rows += [("b", "b", float(c)) for c in rng.uniform(0.3, 1.0, 50)]
    rows += [(None, "b", float(c)) for c in rng.uniform(0.0, 0.2, 30)]
    s = scores(rows)
    suggested = scoring.per_intent_thresholds(s, threshold=0.25, weight=0.5)
    assert set(suggested) == {"a"}
    assert 0.7 < suggested["a"] <= s.confidence[:50].min()


def test_reliability_and_expected_calibration_error():
    confidence = np.array([0.95, 0.95, 0.15, 0.15])
    correct = np.array([True, False, False, False])
    diagram = scoring.reliability(confidence, correct, bins=10)
    # Two bins used: 0.9-1.0 at accuracy 0.5, 0.1-0.2 at accuracy 0.
    assert diagram["ece"] == pytest.approx(0.5 * 0.45 + 0.5 * 0.15)
    used = [b for b in diagram["bins"] if b["count"]]
    assert [(b["count"], b["accuracy"]) for b in used] == [(2, 0.0), (2, 0.5)]


def test_recalibration_lowers_the_error_of_overconfident_scores():
    rng = np.random.default_rng(3)
    confidence = rng.uniform(0.5, 1.0, 2000)
    correct = rng.uniform(size=2000) < (confidence - 0.4)  # right less often than it says
    s = scores(
        [("a", "a" if ok else "b", float(c)) for c, ok in zip(confidence, correct, strict=True)]
    )
    result = scoring.calibration(s)
    assert result["after"]["ece"] < result["before"]["ece"] / 2


def test_threshold_curve_is_monotone():
    curve = scoring.threshold_curve(synthetic())
    accuracies = [point["in_scope_accuracy"] for point in curve]
    recalls = [point["oos_recall"] for point in curve]
    assert accuracies == sorted(accuracies, reverse=True)
    assert recalls == sorted(recalls)
    assert len(curve) <= scoring.CURVE_POINTS + 1


@pytest.mark.parametrize("threshold", [0.0, 0.35, 0.5, 0.65, 0.9, 1.0])
def test_fast_sweep_agrees_with_full_predictions(threshold):
    s = scores(SMALL, intent_thresholds={"b": 0.75})
    predicted = scoring.predictions_at(s, threshold)
    headline = scoring.headline_metrics(s.expected, predicted, s.top)
    assert scoring.accuracy_and_recall_at(s, threshold) == pytest.approx(
        (headline["in_scope_accuracy"]["value"], headline["oos_recall"]["value"])
    )
