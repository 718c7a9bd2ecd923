"""Evaluation maths as plain functions over numpy arrays: metrics, confusion, threshold sweeps,
per-intent thresholds and confidence calibration. No Django here.

A query's prediction at threshold t is recomputed from its stored scores, without routing again:
decided by a rule or the LLM stage ("fixed"), it keeps its decision; otherwise its top intent is
accepted when not turned away by the in-domain gate and its confidence reaches the threshold of
that intent (its own override, else t). None means out of scope.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

OUT_OF_SCOPE = "(out of scope)"  # never an intent name: parentheses are not allowed in one
CURVE_POINTS = 200
RELIABILITY_BINS = 10
MIN_INTENT_ROWS = 5  # an intent needs this many queries scored to get its own threshold
MIN_THRESHOLD_CHANGE = 0.05  # a per-intent threshold is suggested only this far from the router's


@dataclass(slots=True)
class Scores:
    """Per query: expected intent, top intent, confidence, gate and fixed decisions; aligned arrays."""

    expected: np.ndarray  # object: intent name or None (out of scope)
    top: np.ndarray  # object: the classifier's best intent, ignoring thresholds (None: no vector)
    confidence: np.ndarray  # float
    gated: np.ndarray  # bool: out of domain whatever the threshold
    fixed: np.ndarray  # bool: a rule or the LLM stage decided; the threshold does not matter
    fixed_predicted: np.ndarray  # object: the decision of the fixed rows
    intent_thresholds: dict[str, float] = field(default_factory=dict)  # the intents' own overrides
    # Derived once, so a sweep over thousands of thresholds is a few numpy operations each.
    _sweep: tuple | None = field(default=None, init=False, repr=False)

    def sweep_arrays(self) -> tuple:
        """(in_scope, fixed_right, fixed_rejected, top_right, override, scored) for sweeps."""
        if self._sweep is None:
            in_scope = self.in_scope
            fixed_right = self.fixed & _equal(self.fixed_predicted, self.expected)
            fixed_rejected = self.fixed & np.array(
                [value is None for value in self.fixed_predicted], dtype=bool
            )
            top_right = _equal(self.top, self.expected)
            override = np.array(
                [self.intent_thresholds.get(name, np.nan) for name in self.top], dtype=np.float64
            )
            scored = self.scored
            self._sweep = (in_scope, fixed_right, fixed_rejected, top_right, override, scored)
        return self._sweep

    @classmethod
    def build(
        cls,
        *,
        expected: Sequence[str | None],
        top: Sequence[str | None],
        confidence: Sequence[float],
        gated: Sequence[bool],
        fixed: Sequence[bool],
        fixed_predicted: Sequence[str | None],
        intent_thresholds: dict[str, float] | None = None,
    ) -> Scores:
        def objects(values):
            array = np.empty(len(values), dtype=object)
            array[:] = list(values)
            return array

        return cls(
            expected=objects(expected),
            top=objects(top),
            confidence=np.asarray(confidence, dtype=np.float64),
            gated=np.asarray(gated, dtype=bool),
            fixed=np.asarray(fixed, dtype=bool),
            fixed_predicted=objects(fixed_predicted),
            intent_thresholds=dict(intent_thresholds or {}),
        )

    @property
    def in_scope(self) -> np.ndarray:
        return np.array([value is not None for value in self.expected], dtype=bool)

    @property
    def scored(self) -> np.ndarray:
        """Rows whose prediction depends on a threshold."""
        has_top = np.array([value is not None for value in self.top], dtype=bool)
        return ~self.fixed & ~self.gated & has_top

    def row_thresholds(self, threshold: float, per_intent: dict[str, float] | None = None):
        overrides = {**self.intent_thresholds, **(per_intent or {})}
        return np.array([overrides.get(name, threshold) for name in self.top], dtype=np.float64)


def predictions_at(
    scores: Scores, threshold: float, per_intent: dict[str, float] | None = None
) -> np.ndarray:
    """What the router would decide per query at `threshold` (and per-intent overrides)."""
    accept = scores.scored & (scores.confidence >= scores.row_thresholds(threshold, per_intent))
    predicted = np.where(accept, scores.top, None)
    return np.where(scores.fixed, scores.fixed_predicted, predicted)


def wilson_interval(successes: int, total: int, z: float = 1.96) -> tuple[float, float] | None:
    """95% Wilson score interval of a rate (None without observations)."""
    if total == 0:
        return None
    p = successes / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return (max(0.0, centre - half), min(1.0, centre + half))


def rate(successes: int, total: int) -> dict:
    """A rate with its count and 95% Wilson interval."""
    return {
        "value": successes / total if total else None,
        "count": int(successes),
        "total": int(total),
        "interval": wilson_interval(int(successes), int(total)),
    }


def _equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.array([x == y for x, y in zip(a, b, strict=True)], dtype=bool)


def headline_metrics(expected: np.ndarray, predicted: np.ndarray, top: np.ndarray) -> dict:
    """In-scope accuracy, out-of-scope recall and precision, top-1 accuracy ignoring thresholds."""
    in_scope = np.array([value is not None for value in expected], dtype=bool)
    rejected = np.array([value is None for value in predicted], dtype=bool)
    correct = _equal(expected, predicted)
    top_correct = _equal(expected, top)
    n_in, n_oos = int(in_scope.sum()), int((~in_scope).sum())
    return {
        "in_scope_accuracy": rate(int((correct & in_scope).sum()), n_in),
        "oos_recall": rate(int((rejected & ~in_scope).sum()), n_oos),
        "oos_precision": rate(int((rejected & ~in_scope).sum()), int(rejected.sum())),
        "top1_accuracy": rate(int((top_correct & in_scope).sum()), n_in),
        "queries": len(expected),
        "in_scope_queries": n_in,
        "oos_queries": n_oos,
    }


def _label(value: str | None) -> str:
    return OUT_OF_SCOPE if value is None else value


def per_intent_metrics(expected: np.ndarray, predicted: np.ndarray) -> dict[str, dict]:
    """Precision, recall, F1 and support per intent (out of scope included as its own class)."""
    exp = np.array([_label(value) for value in expected], dtype=object)
    pred = np.array([_label(value) for value in predicted], dtype=object)
    result = {}
    for name in sorted(set(exp) | set(pred), key=lambda n: (n == OUT_OF_SCOPE, n)):
        tp = int(((exp == name) & (pred == name)).sum())
        support, predicted_count = int((exp == name).sum()), int((pred == name).sum())
        precision = tp / predicted_count if predicted_count else None
        recall = tp / support if support else None
        f1 = (
            2 * precision * recall / (precision + recall)
            if precision and recall
            else (0.0 if predicted_count and support else None)
        )
        result[name] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": support,
            "predicted": predicted_count,
            "correct": tp,
        }
    return result


def confusion_matrix(expected: np.ndarray, predicted: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Labels (intents, then out of scope) and counts[expected][predicted]."""
    exp = [_label(value) for value in expected]
    pred = [_label(value) for value in predicted]
    labels = sorted(set(exp) | set(pred), key=lambda n: (n == OUT_OF_SCOPE, n))
    index = {name: i for i, name in enumerate(labels)}
    counts = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for e, p in zip(exp, pred, strict=True):
        counts[index[e], index[p]] += 1
    return labels, counts


def accuracy_and_recall_at(scores: Scores, threshold: float) -> tuple[float, float]:
    """In-scope accuracy and out-of-scope recall at a router threshold (intents' own kept)."""
    in_scope, fixed_right, fixed_rejected, top_right, override, scored = scores.sweep_arrays()
    thresholds = np.where(np.isnan(override), threshold, override)
    accepted = scored & (scores.confidence >= thresholds)
    right = fixed_right | (accepted & top_right)
    rejected = fixed_rejected | (~scores.fixed & ~accepted)
    n_in, n_oos = int(in_scope.sum()), int((~in_scope).sum())
    accuracy = float((right & in_scope).sum() / n_in) if n_in else 0.0
    recall = float((rejected & ~in_scope).sum() / n_oos) if n_oos else 0.0
    return accuracy, recall


def candidate_thresholds(scores: Scores, *, in_scope_only: bool = False) -> np.ndarray:
    """Confidences where a decision can change, ascending (in-scope rows only: where accuracy can)."""
    rows = scores.scored & (scores.in_scope if in_scope_only else True)
    return np.unique(scores.confidence[rows])


def threshold_curve(scores: Scores, points: int = CURVE_POINTS) -> list[dict]:
    """In-scope accuracy and out-of-scope recall over the router threshold (at most `points`)."""
    candidates = candidate_thresholds(scores)
    if len(candidates) > points:
        candidates = np.quantile(candidates, np.linspace(0, 1, points))
    curve = []
    for threshold in np.unique(np.concatenate([[0.0], candidates])):
        accuracy, recall = accuracy_and_recall_at(scores, float(threshold))
        curve.append(
            {"threshold": float(threshold), "in_scope_accuracy": accuracy, "oos_recall": recall}
        )
    return curve


def threshold_for_target(scores: Scores, min_in_scope: float) -> float | None:
    """The highest router threshold keeping in-scope accuracy >= `min_in_scope` (None: none does).

    Accuracy can only fall as the threshold rises, so the first failing candidate ends the sweep;
    the highest passing one rejects the most out-of-scope queries.
    """
    best = None
    for threshold in candidate_thresholds(scores, in_scope_only=True):
        accuracy, _ = accuracy_and_recall_at(scores, float(threshold))
        if accuracy < min_in_scope:
            break
        best = float(threshold)
    return best


def threshold_weighted(scores: Scores, weight: float) -> float:
    """The threshold maximising weight * in-scope accuracy + (1 - weight) * out-of-scope recall."""
    best, best_value = 0.0, -1.0
    for threshold in np.concatenate([[0.0], candidate_thresholds(scores)]):
        accuracy, recall = accuracy_and_recall_at(scores, float(threshold))
        value = weight * accuracy + (1 - weight) * recall
        if value > best_value + 1e-12:
            best, best_value = float(threshold), value
    return best


def per_intent_thresholds(scores: Scores, *, threshold: float, weight: float) -> dict[str, float]:
    """Intents whose own threshold raises the weighted objective (given the router's `threshold`).

    The weighted sum splits by top intent (each query is accepted or rejected by its top intent's
    threshold only), so each intent's best threshold is found on its own queries.
    """
    in_scope = scores.in_scope
    n_in, n_oos = max(1, int(in_scope.sum())), max(1, int((~in_scope).sum()))
    scored = scores.scored
    suggestions = {}
    for name in sorted({value for value in scores.top[scored]}):
        if name in scores.intent_thresholds:
            continue  # the operator set this intent's threshold on purpose
        rows = scored & np.array([value == name for value in scores.top], dtype=bool)
        if rows.sum() < MIN_INTENT_ROWS:
            continue
        confidence = scores.confidence[rows]
        right = np.array([value == name for value in scores.expected[rows]], dtype=bool)
        oos = ~in_scope[rows]

        base = _intent_objective(confidence, right, oos, threshold, weight, n_in, n_oos)
        best_t, best_value = threshold, base
        for candidate in np.unique(np.concatenate([confidence, [1.0 + 1e-9]])):
            value = _intent_objective(confidence, right, oos, float(candidate), weight, n_in, n_oos)
            if value > best_value + 1e-12:
                best_t, best_value = float(candidate), value
        one_query = min(weight / n_in, (1 - weight) / n_oos)
        if (
            abs(best_t - threshold) >= MIN_THRESHOLD_CHANGE
            and best_value - base >= one_query - 1e-12
        ):
            suggestions[name] = round(min(best_t, 1.0), 4)
    return suggestions


def _intent_objective(confidence, right, oos, threshold, weight, n_in, n_oos) -> float:
    accepted = confidence >= threshold
    return weight * (right & accepted).sum() / n_in + (1 - weight) * (oos & ~accepted).sum() / n_oos


def reliability(confidence: np.ndarray, correct: np.ndarray, bins: int = RELIABILITY_BINS) -> dict:
    """Reliability diagram bins (equal width over [0, 1]) and the expected calibration error."""
    confidence = np.clip(np.asarray(confidence, dtype=np.float64), 0.0, 1.0)
    correct = np.asarray(correct, dtype=bool)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, bins - 1)
    rows, ece, total = [], 0.0, len(confidence)
    for b in range(bins):
        members = which == b
        count = int(members.sum())
        if count:
            mean_confidence = float(confidence[members].mean())
            accuracy = float(correct[members].mean())
            ece += count / total * abs(accuracy - mean_confidence)
        else:
            mean_confidence = accuracy = None
        rows.append(
            {
                "low": float(edges[b]),
                "high": float(edges[b + 1]),
                "count": count,
                "confidence": mean_confidence,
                "accuracy": accuracy,
            }
        )
    return {"bins": rows, "ece": ece if total else None, "samples": total}


def recalibrated(confidence: np.ndarray, correct: np.ndarray, folds: int = 2) -> np.ndarray:
    """Cross-fitted isotonic recalibration: each fold's confidences mapped by a fit on the others."""
    from sklearn.isotonic import IsotonicRegression

    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    result = confidence.copy()
    if len(confidence) < 2 * folds:
        return result
    fold_of = np.arange(len(confidence)) % folds
    for fold in range(folds):
        train = fold_of != fold
        model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        model.fit(confidence[train], correct[train])
        result[~train] = model.predict(confidence[~train])
    return result


def calibration(scores: Scores) -> dict:
    """Is a confidence of 0.8 right 80% of the time? Before and after isotonic recalibration."""
    rows = scores.scored
    correct = _equal(scores.expected[rows], scores.top[rows])
    confidence = scores.confidence[rows]
    return {
        "before": reliability(confidence, correct),
        "after": reliability(recalibrated(confidence, correct), correct),
    }
