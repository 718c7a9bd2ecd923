"""Chart-ready read models of evaluation runs: results page, a confusion cell's queries, comparisons.

Everything is recomputed from the stored per-query results (no routing); views only render it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analytics.evaluations import scoring
from analytics.evaluations.models import EvaluationResult, EvaluationRun
from analytics.evaluations.scoring import OUT_OF_SCOPE
from analytics.evaluations.services import (
    DEFAULT_MIN_IN_SCOPE,
    DEFAULT_WEIGHT,
    evaluation_suggestions,
    run_results,
    run_scores,
)

WORST_EXAMPLES = 25
CONFUSION_MAX_LABELS = 30  # beyond this the heatmap shows the most confused labels only


@dataclass(slots=True)
class RunReport:
    run: EvaluationRun
    metrics: dict
    intent_rows: list[dict]
    confusion_labels: list[str]
    confusion_counts: list[list[int]]
    confusion_all_labels: int
    confusion_cells: list[dict]  # off-diagonal cells, most queries first (the heatmap's table)
    stages: list[tuple[str, int]]
    cost: dict
    worst: list[dict]
    curve: list[dict]
    suggestions: dict
    calibration: dict
    min_in_scope: float
    weight: float
    notes: list[str] = field(default_factory=list)


def _label(value: str | None) -> str:
    return OUT_OF_SCOPE if value is None else value


def _confusion(results: list[dict]) -> tuple[list[str], np.ndarray, list[dict], int]:
    expected = np.array([row["expected"] for row in results], dtype=object)
    predicted = np.array([row["predicted"] for row in results], dtype=object)
    labels, counts = scoring.confusion_matrix(expected, predicted)
    cells = [
        {"expected": labels[i], "predicted": labels[j], "count": int(counts[i, j])}
        for i, j in zip(*np.nonzero(counts), strict=True)
        if i != j
    ]
    cells.sort(key=lambda cell: (-cell["count"], cell["expected"], cell["predicted"]))
    total_labels = len(labels)
    if total_labels > CONFUSION_MAX_LABELS:
        errors = counts.sum(axis=0) + counts.sum(axis=1) - 2 * np.diag(counts)
        keep = sorted(np.argsort(-errors, kind="stable")[:CONFUSION_MAX_LABELS])
        labels = [labels[i] for i in keep]
        counts = counts[np.ix_(keep, keep)]
    return labels, counts, cells, total_labels


def run_report(
    run: EvaluationRun,
    *,
    min_in_scope: float = DEFAULT_MIN_IN_SCOPE,
    weight: float = DEFAULT_WEIGHT,
) -> RunReport:
    """The finished run's results page: metrics as decided, calibration from the stored scores."""
    results = run_results(run.pk)
    metrics = run.metrics
    scores = run_scores(results, metrics.get("intent_thresholds", {}))
    labels, counts, cells, total_labels = _confusion(results)
    intent_rows = [
        {"intent": name, **values} for name, values in metrics.get("per_intent", {}).items()
    ]
    intent_rows.sort(key=lambda row: (row["f1"] is None, row["f1"] or 0.0, row["intent"]))
    wrong = [row for row in results if row["expected"] != row["predicted"]]
    wrong.sort(key=lambda row: (row["predicted"] is None, -row["confidence"]))
    estimated, baseline = (
        metrics.get("estimated_cost_usd", 0.0),
        metrics.get("baseline_cost_usd", 0.0),
    )
    notes = []
    if total_labels > len(labels):
        notes.append(
            f"The heatmap shows the {len(labels)} most confused of {total_labels} labels; "
            "the table lists every confused pair."
        )
    return RunReport(
        run=run,
        metrics=metrics,
        intent_rows=intent_rows,
        confusion_labels=labels,
        confusion_counts=counts.tolist(),
        confusion_all_labels=total_labels,
        confusion_cells=cells,
        stages=sorted(metrics.get("stages", {}).items(), key=lambda item: -item[1]),
        cost={
            "estimated_usd": estimated,
            "baseline_usd": baseline,
            "saving": 1 - estimated / baseline if baseline else None,
        },
        worst=wrong[:WORST_EXAMPLES],
        curve=scoring.threshold_curve(scores),
        suggestions=evaluation_suggestions(
            scores,
            threshold=metrics.get("threshold", 0.5),
            min_in_scope=min_in_scope,
            weight=weight,
        ),
        calibration=scoring.calibration(scores),
        min_in_scope=min_in_scope,
        weight=weight,
        notes=notes,
    )


def cell_queries(run: EvaluationRun, *, expected: str, predicted: str):
    """The queries of one confusion cell (labels as the matrix names them)."""
    queries = EvaluationResult.objects.filter(run=run).order_by("-confidence", "position")
    queries = (
        queries.filter(expected__isnull=True)
        if expected == OUT_OF_SCOPE
        else queries.filter(expected=expected)
    )
    return (
        queries.filter(predicted__isnull=True)
        if predicted == OUT_OF_SCOPE
        else queries.filter(predicted=predicted)
    )


COMPARED_METRICS = (
    ("in_scope_accuracy", "In-scope accuracy"),
    ("oos_recall", "Out-of-scope recall"),
    ("oos_precision", "Out-of-scope precision"),
    ("top1_accuracy", "Top-1 accuracy (no thresholds)"),
)


def runs_compare(a: EvaluationRun, b: EvaluationRun) -> dict:
    """Metric by metric, and the queries (matched by text) that flipped between the two runs."""
    metrics = [
        {
            "name": label,
            "a": a.metrics.get(key),
            "b": b.metrics.get(key),
            "change": (
                b.metrics[key] - a.metrics[key]
                if a.metrics.get(key) is not None and b.metrics.get(key) is not None
                else None
            ),
        }
        for key, label in COMPARED_METRICS
    ]
    before = {row["text"]: row for row in run_results(a.pk)}
    broke, fixed = [], []
    for row in run_results(b.pk):
        old = before.get(row["text"])
        if old is None:
            continue
        was_right, is_right = (
            old["expected"] == old["predicted"],
            row["expected"] == row["predicted"],
        )
        pair = {
            "text": row["text"],
            "expected": _label(row["expected"]),
            "a": _label(old["predicted"]),
            "b": _label(row["predicted"]),
            "confidence_a": old["confidence"],
            "confidence_b": row["confidence"],
        }
        if was_right and not is_right:
            broke.append(pair)
        elif is_right and not was_right:
            fixed.append(pair)
    return {"metrics": metrics, "right_to_wrong": broke, "wrong_to_right": fixed}
