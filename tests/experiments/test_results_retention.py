"""An experiment's results outlive its raw decisions: retention folds them into the arms first."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from analytics.dashboards.rollups import retention_apply
from analytics.decision_log import decision_rows_write
from analytics.experiments import services
from analytics.experiments.models import JudgeVerdict
from analytics.experiments.results import arm_results
from analytics.models import DecisionLog, Feedback
from tests.dashboards.conftest import NOW, decision_row

pytestmark = pytest.mark.django_db


def _traffic(router, experiment) -> list[DecisionLog]:
    """Two arms over ten days before NOW, with feedback on some and judge verdicts on others."""
    rng = random.Random(3)
    rows = []
    for index in range(400):
        arm = "current" if index % 2 else "candidate"
        gateway = rng.random() < 0.6
        rows.append(
            decision_row(
                router,
                NOW - timedelta(hours=rng.uniform(1, 240)),
                experiment_id=experiment.pk,
                experiment_arm=arm,
                latency_ms=rng.lognormvariate(1.5 if arm == "current" else 1.2, 0.5),
                estimated_cost_usd=rng.uniform(0.0005, 0.004 if arm == "current" else 0.002),
                actual_cost_usd=rng.uniform(0.0005, 0.003) if gateway else None,
                answer_tier="cheap" if gateway else None,
                escalations=int(gateway and rng.random() < 0.2),
                reasked=rng.random() < 0.1,
            )
        )
    decision_rows_write(rows)
    for row in rows[::7]:
        Feedback.objects.create(decision_id=row.id, rating=rng.choice(["up", "down"]), api_key=None)
    for row in rows[::11]:
        JudgeVerdict.objects.create(
            router=router,
            decision_id=row.id,
            state="done",
            query=row.query,
            tier="cheap",
            answer="an answer",
            verdict=rng.choice(["better", "same", "worse"]),
        )
    return rows


def test_results_are_the_same_after_retention_deleted_the_old_decisions(demo_router, settings):
    experiment = services.experiment_create(
        router=demo_router,
        name="two arms",
        arms=[{"name": "current", "weight": 1}, {"name": "candidate", "weight": 1}],
        control_percent=0,
    )
    rows = _traffic(demo_router, experiment)
    before = {result["arm"]: result for result in arm_results(experiment)}
    assert before["current"]["traffic"] + before["candidate"]["traffic"] == len(rows)

    settings.SEMROUTE_DECISION_RETENTION_DAYS = 5
    deleted = retention_apply(now=NOW)
    assert 0 < deleted < len(rows)  # half the traffic is older than five days
    retention_apply(now=NOW)  # a second run folds nothing twice
    experiment.refresh_from_db()
    after = {result["arm"]: result for result in arm_results(experiment)}

    for arm in ("current", "candidate"):
        assert after[arm]["traffic"] == before[arm]["traffic"]
        assert after[arm]["total_cost_usd"] == pytest.approx(before[arm]["total_cost_usd"])
        assert after[arm]["cost_per_query_usd"]["interval"] == pytest.approx(
            before[arm]["cost_per_query_usd"]["interval"]
        )
        for name, rate in before[arm]["rates"].items():
            assert (after[arm]["rates"][name]["successes"], after[arm]["rates"][name]["count"]) == (
                rate["successes"],
                rate["count"],
            ), name
        # Percentiles now come from a histogram: within its stated error of the exact ones.
        latency = after[arm]["latency_ms"]
        assert latency["count"] == before[arm]["latency_ms"]["count"]
        for q in ("p50", "p95"):
            assert latency[q] == pytest.approx(before[arm]["latency_ms"][q], rel=0.06)
    assert after["candidate"]["rates"]["judge_win_rate"]["count"] > 0


def test_only_the_experiments_pruned_decisions_are_folded_into_its_arm(demo_router, settings):
    experiment = services.experiment_create(
        router=demo_router,
        name="one arm",
        arms=[{"name": "current", "weight": 1}],
        control_percent=0,
    )
    old = NOW - timedelta(days=10)
    decision_rows_write(
        [
            decision_row(demo_router, old, experiment_id=experiment.pk, experiment_arm="current"),
            decision_row(demo_router, old),  # no experiment
        ]
    )
    settings.SEMROUTE_DECISION_RETENTION_DAYS = 5

    assert retention_apply(now=NOW) == 2

    arm = experiment.arms.get(name="current")
    assert arm.pruned_totals["n"] == 1
    assert sum(arm.pruned_totals["latency_hist"].values()) == 1
    assert DecisionLog.objects.count() == 0
