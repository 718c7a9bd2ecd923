"""Per-arm results of an experiment: totals, then metrics with intervals and tests against the
reference arm (the first arm that is not the control).

`arm_totals` is the one place that reads raw numbers: the decision log, plus what retention folded
into each arm (`arm_totals_prune`) before deleting old decisions. The statistics only see
`ArmTotals`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, F, FloatField, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce

from analytics.dashboards import histograms
from analytics.dashboards.rollups import histogram_bucket
from analytics.experiments import stats
from analytics.experiments.models import Experiment, ExperimentArm, JudgeVerdict, Verdict
from analytics.models import DecisionLog, Feedback

# Percentiles are computed from at most this many latencies per arm (the newest).
LATENCY_SAMPLE = 50_000


@dataclass(slots=True)
class ArmTotals:
    n: int = 0
    cost_sum: float = 0.0  # actual cost when the gateway answered, else the estimate (USD)
    cost_squares: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)  # routing latency, sorted
    answered: int = 0  # decisions the gateway answered
    escalated: int = 0  # ... with at least one escalation
    reasked: int = 0
    with_feedback: int = 0  # decisions with feedback
    thumbs_down: int = 0
    judged: int = 0  # decisions with a valid judge verdict
    judge_good: int = 0  # ... rated as good as the strongest tier or better
    # With decisions pruned by retention: every latency as a histogram (percentiles from it).
    latency_hist: dict[int, int] | None = None


COUNT_FIELDS = (
    "n",
    "cost_sum",
    "cost_squares",
    "answered",
    "escalated",
    "reasked",
    "with_feedback",
    "thumbs_down",
    "judged",
    "judge_good",
)


def _by_arm(queryset, arm_field: str = "experiment_arm"):
    return {row.pop(arm_field): row for row in queryset}


def _decision_totals(decisions) -> dict[str, dict[str, float]]:
    """Per arm name, the counters of ArmTotals (COUNT_FIELDS) over these decisions, their
    feedback and their judge verdicts."""
    cost = Coalesce("actual_cost_usd", "estimated_cost_usd", output_field=FloatField())
    sums = _by_arm(
        decisions.annotate(cost=cost)
        .values("experiment_arm")
        .annotate(
            n=Count("id"),
            cost_sum=Sum("cost"),
            cost_squares=Sum(F("cost") * F("cost"), output_field=FloatField()),
            answered=Count("id", filter=Q(answer_tier__isnull=False)),
            escalated=Count("id", filter=Q(escalations__gt=0)),
            reasked=Count("id", filter=Q(reasked=True)),
        )
        .order_by()
    )
    arm_of = Subquery(
        DecisionLog.objects.filter(pk=OuterRef("decision_id")).values("experiment_arm")[:1]
    )
    ids = decisions.values("pk")
    feedback = _by_arm(
        Feedback.objects.filter(decision_id__in=ids)
        .annotate(arm=arm_of)
        .values("arm")
        .annotate(
            with_feedback=Count("decision_id", distinct=True),
            thumbs_down=Count("decision_id", distinct=True, filter=Q(rating="down")),
        )
        .order_by(),
        "arm",
    )
    verdicts = _by_arm(
        JudgeVerdict.objects.filter(decision_id__in=ids, state="done")
        .exclude(verdict=Verdict.INVALID)
        .annotate(arm=arm_of)
        .values("arm")
        .annotate(
            judged=Count("id"),
            judge_good=Count("id", filter=Q(verdict__in=[Verdict.BETTER, Verdict.SAME])),
        )
        .order_by(),
        "arm",
    )
    return {
        arm: {
            name: value or 0
            for part in (sums, feedback, verdicts)
            for name, value in part.get(arm, {}).items()
        }
        for arm in sums.keys() | feedback.keys() | verdicts.keys()
    }


def arm_totals(experiment: Experiment) -> dict[str, ArmTotals]:
    """Totals per arm name: the decision log's (with feedback and judge verdicts) plus what
    retention folded into the arm before it deleted old decisions (`pruned_totals`)."""
    decisions = DecisionLog.objects.filter(
        router_id=experiment.router_id, experiment_id=experiment.pk
    )
    counted = _decision_totals(decisions)
    totals = {}
    for arm in experiment.arms.all():
        row = counted.get(arm.name, {})
        pruned = arm.pruned_totals or {}
        latencies = sorted(
            decisions.filter(experiment_arm=arm.name)
            .order_by("-created_at")
            .values_list("latency_ms", flat=True)[:LATENCY_SAMPLE]
        )
        latency_hist = None
        if pruned.get("latency_hist"):  # percentiles over old and new decisions alike
            latency_hist = histograms.histogram_merge(
                [pruned["latency_hist"], Counter(map(histograms.bucket_of, latencies))]
            )
        totals[arm.name] = ArmTotals(
            **{name: row.get(name, 0) + pruned.get(name, 0) for name in COUNT_FIELDS},
            latencies_ms=latencies,
            latency_hist=latency_hist,
        )
    return totals


def arm_totals_prune(*, router_id: int, before: datetime) -> int:
    """Fold the router's experiment decisions created before `before` into their arms'
    `pruned_totals`; returns how many. Retention calls it in the transaction that deletes them,
    so an experiment's results outlive its raw decisions."""
    pruned = DecisionLog.objects.filter(
        router_id=router_id, experiment_id__isnull=False, created_at__lt=before
    )
    folded = 0
    experiment_ids = set(pruned.order_by().values_list("experiment_id", flat=True).distinct())
    for experiment_id in experiment_ids:
        decisions = pruned.filter(experiment_id=experiment_id)
        counted = _decision_totals(decisions)
        buckets: dict[str, dict[int, int]] = {}
        for arm, bucket, count in (
            decisions.annotate(bucket=histogram_bucket("latency_ms"))
            .values("experiment_arm", "bucket")
            .annotate(count=Count("pk"))
            .values_list("experiment_arm", "bucket", "count")
            .order_by()
        ):
            buckets.setdefault(arm, {})[int(bucket)] = count
        for arm in ExperimentArm.objects.select_for_update().filter(
            experiment_id=experiment_id, name__in=counted.keys()
        ):
            totals = dict(arm.pruned_totals or {})
            for name in COUNT_FIELDS:
                totals[name] = totals.get(name, 0) + counted[arm.name].get(name, 0)
            totals["latency_hist"] = histograms.histogram_merge(
                [totals.get("latency_hist", {}), buckets.get(arm.name, {})]
            )
            arm.pruned_totals = totals
            arm.save(update_fields=["pruned_totals"])
            folded += counted[arm.name].get("n", 0)
    return folded


# (metric, label, numerator field, denominator field, lower is better)
RATE_METRICS = (
    ("escalation_rate", "escalation rate", "escalated", "answered", True),
    ("reask_rate", "re-ask rate", "reasked", "n", True),
    ("thumbs_down_rate", "thumbs-down rate", "thumbs_down", "with_feedback", True),
    ("judge_win_rate", "judge: as good as the best", "judge_good", "judged", False),
)


def _test(result: stats.TestResult | None) -> dict[str, Any] | None:
    if result is None:
        return None
    return {
        "test": result.test,
        "minimum_sample": result.minimum,
        "enough_sample": result.enough,
        "statistic": result.statistic,
        "p_value": result.p_value,
        "significant": result.significant,
    }


def _rate(successes: int, n: int) -> dict[str, Any]:
    return {
        "value": successes / n if n else None,
        "count": n,
        "successes": successes,
        "interval": stats.wilson_interval(successes, n),
    }


def arm_results(experiment: Experiment, totals: dict[str, ArmTotals] | None = None) -> list[dict]:
    """One entry per arm: traffic, cost, latency and rates, each with its interval and, for the
    arms other than the reference, the test against the reference arm."""
    totals = totals if totals is not None else arm_totals(experiment)
    arms = list(experiment.arms.all())
    reference = next((arm.name for arm in arms if not arm.control), None)
    everyone = sum(total.n for total in totals.values())
    base = totals.get(reference)
    results = []
    for arm in arms:
        total = totals[arm.name]
        compare = base is not None and arm.name != reference
        mean, variance = stats.mean_and_variance(total.n, total.cost_sum, total.cost_squares)
        cost = {
            "value": mean if total.n else None,
            "count": total.n,
            "interval": stats.mean_interval(total.n, total.cost_sum, total.cost_squares),
            "test": None,
        }
        if compare:
            base_mean, base_variance = stats.mean_and_variance(
                base.n, base.cost_sum, base.cost_squares
            )
            cost["test"] = _test(
                stats.welch_t_test(base_mean, base_variance, base.n, mean, variance, total.n)
            )
        rates = {}
        for key, label, numerator, denominator, lower_better in RATE_METRICS:
            rate = _rate(getattr(total, numerator), getattr(total, denominator))
            rate.update(label=label, lower_is_better=lower_better, test=None)
            if compare:
                rate["test"] = _test(
                    stats.two_proportion_z_test(
                        getattr(base, numerator),
                        getattr(base, denominator),
                        getattr(total, numerator),
                        getattr(total, denominator),
                    )
                )
            rates[key] = rate
        results.append(
            {
                "arm": arm.name,
                "control": arm.control,
                "reference": arm.name == reference,
                "version": arm.version,
                "policy": arm.policy,
                "weight": arm.weight,
                "traffic": total.n,
                "traffic_share": total.n / everyone if everyone else None,
                "cost_per_query_usd": cost,
                "total_cost_usd": total.cost_sum,
                "latency_ms": _latency(total),
                "rates": rates,
            }
        )
    return results


def _latency(total: ArmTotals) -> dict[str, Any]:
    if total.latency_hist:
        return {
            "p50": histograms.percentile(total.latency_hist, 50),
            "p95": histograms.percentile(total.latency_hist, 95),
            "count": sum(total.latency_hist.values()),
        }
    return {
        "p50": stats.percentile(total.latencies_ms, 0.5),
        "p95": stats.percentile(total.latencies_ms, 0.95),
        "count": len(total.latencies_ms),
    }


def winning_arm(results: list[dict]) -> str | None:
    """The cheapest arm (not the control) whose quality rates are not significantly worse than
    the reference arm's; None when no arm has traffic."""
    candidates = []
    for result in results:
        if result["control"] or not result["traffic"]:
            continue
        worse = False
        for rate in result["rates"].values():
            test = rate["test"]
            if test and test["significant"] and test["statistic"] is not None:
                increased = test["statistic"] > 0
                worse |= increased == rate["lower_is_better"]
        if not worse:
            candidates.append((result["cost_per_query_usd"]["value"] or 0.0, result["arm"]))
    return min(candidates)[1] if candidates else None
