"""Arm assignment (routing/engine/experiments.py): sticky across processes, weights within
sampling error, minimal movement when weights change, the control arm's decision."""

from __future__ import annotations

import math
import subprocess
import sys
from collections import Counter

from routing.engine.decision import Decision
from routing.engine.experiments import (
    BUCKETS,
    ArmPlan,
    ExperimentPlan,
    allocation_new,
    allocation_rebalance,
    arm_of_bucket,
    bucket_of,
    control_decision,
    experiment_shares,
    moved_share,
    shares_in_buckets,
)
from routing.engine.snapshot import TierSpec


def _plan(weights: dict[str, float], control_percent: float = 0.0, **extra) -> ExperimentPlan:
    shares = experiment_shares(weights, control_percent)
    return ExperimentPlan(
        id=42,
        name="test",
        sticky_by=extra.get("sticky_by", "user_id"),
        ranges=tuple(allocation_new(shares)),
        arms={name: ArmPlan(name=name, control=name == "control") for name in shares},
    )


def test_bucket_is_the_same_in_another_process():
    keys = [f"user-{index}" for index in range(50)]
    here = [bucket_of(7, key) for key in keys]
    code = (
        "from routing.engine.experiments import bucket_of;"
        f"print([bucket_of(7, key) for key in {keys!r}])"
    )
    there = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert there.strip() == str(here)


def test_bucket_depends_on_the_experiment():
    keys = [f"user-{index}" for index in range(200)]
    same = sum(bucket_of(1, key) == bucket_of(2, key) for key in keys)
    assert same < 5  # a new experiment reshuffles users instead of reusing the old split


def test_weights_hold_within_sampling_error_on_10000_users():
    plan = _plan({"a": 70, "b": 30}, control_percent=5)
    counts = Counter(
        plan.arm_for(user_id=f"user-{index}", session_id=None)[0].name for index in range(10_000)
    )
    expected = {"a": 0.665, "b": 0.285, "control": 0.05}
    for arm, share in expected.items():
        sigma = math.sqrt(10_000 * share * (1 - share))
        assert abs(counts[arm] - 10_000 * share) < 4 * sigma, (arm, counts)


def test_shares_add_up_exactly():
    assert shares_in_buckets({"a": 1, "b": 1, "c": 1}) == {"a": 3334, "b": 3333, "c": 3333}
    assert experiment_shares({"a": 1, "b": 1}, 5) == {"a": 4750, "b": 4750, "control": 500}


def test_assignment_key_falls_back_from_user_to_session_to_request():
    plan = _plan({"a": 1, "b": 1})
    assert plan.assignment_key(user_id="u", session_id="s") == ("user_id", "u")
    assert plan.assignment_key(user_id=None, session_id="s") == ("session_id", "s")
    kind, key = plan.assignment_key(user_id=None, session_id=None)
    assert kind == "request"
    assert plan.assignment_key(user_id=None, session_id=None)[1] != key
    by_session = _plan({"a": 1, "b": 1}, sticky_by="session_id")
    assert by_session.assignment_key(user_id="u", session_id="s") == ("session_id", "s")


def test_rebalance_moves_only_the_change():
    before = allocation_new(experiment_shares({"a": 40, "b": 30, "c": 30}, 0))
    after = allocation_rebalance(before, experiment_shares({"a": 30, "b": 30, "c": 40}, 0))
    assert moved_share(before, after) == 0.10
    # Recomputing contiguous ranges from the new weights would move twice as many users.
    recomputed = allocation_new(experiment_shares({"a": 30, "b": 30, "c": 40}, 0))
    assert moved_share(before, recomputed) == 0.20
    assert sum(end - start for start, end, name in after if name == "c") == 4000


def test_rebalance_adds_a_control_arm_and_a_new_arm_from_freed_buckets():
    before = allocation_new(experiment_shares({"a": 1, "b": 1}, 0))
    after = allocation_rebalance(before, experiment_shares({"a": 1, "b": 1, "c": 1}, 10))
    owned = Counter()
    for start, end, name in after:
        owned[name] += end - start
    assert owned == {"a": 3000, "b": 3000, "c": 3000, "control": 1000}
    assert moved_share(before, after) == 0.40
    assert arm_of_bucket(after, 0) == "a"  # the first users of a stay in a
    assert {arm_of_bucket(after, b) for b in range(BUCKETS)} == {"a", "b", "c", "control"}


def test_control_decision_takes_the_most_expensive_enabled_tier():
    tiers = (
        TierSpec("cheap", 1, "openai", "mini", 0.15, 0.6, 0.7),
        TierSpec("best", 3, "anthropic", "sonnet", 3.0, 15.0, 0.95),
        TierSpec("off", 4, "openai", "huge", 30.0, 60.0, 0.99, enabled=False),
    )
    routed = Decision(
        intent="refund",
        handler="refunds",
        confidence=0.9,
        calibrated=False,
        stage="embedding",
        complexity="simple",
        tier="cheap",
        model="mini",
        provider="openai",
        estimated_cost_usd=0.0001,
        baseline_cost_usd=0.0025,
        latency_ms=3.0,
        router_version=1,
    )
    control = control_decision(routed, tiers)
    assert (control.intent, control.tier, control.model, control.provider) == (
        "refund",
        "best",
        "sonnet",
        "anthropic",
    )
    assert control.estimated_cost_usd == 0.0025
    assert control.trace.notes == ["experiment control arm: best answers"]
    assert routed.trace.notes == []  # the routed (maybe cached) decision is not changed
