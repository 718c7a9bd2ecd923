"""Experiment arm assignment: sticky, hash-based and consistent when weights change.

A caller's key (user id, else session id, else a per-request random key) hashes with the
experiment's id to a bucket in [0, BUCKETS). The experiment owns an *allocation*: ranges of
buckets, each belonging to one arm. Why stored ranges rather than ranges recomputed from the
weights (or rendezvous hashing): recomputing contiguous ranges shifts every later boundary when
an earlier arm's weight changes, and weighted rendezvous hashing moves users between arms whose
weights did not change; `allocation_rebalance` instead takes buckets only from arms that shrink
and gives them only to arms that grow, so exactly the minimum share of users moves (the sum of
the decreases), and nobody else ever changes arm. The hash is blake2b, not Python's `hash()`,
so every worker and every restart assigns the same user to the same arm.

Pure Python: no Django. routing/decide.py applies a plan; analytics builds and stores it.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .decision import Decision
from .snapshot import TierSpec
from .tier_policy import most_expensive_tier, tier_cost_usd

BUCKETS = 10_000  # a bucket is 0.01% of traffic
CONTROL_ARM = "control"
STICKY_KEYS = ("user_id", "session_id")

# (first bucket, end bucket exclusive, arm name)
BucketRange = tuple[int, int, str]


def bucket_of(experiment_id: int, key: str) -> int:
    """The bucket in [0, BUCKETS) of `key` in experiment `experiment_id` (same on every worker)."""
    digest = hashlib.blake2b(f"{experiment_id}\x00{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS


def shares_in_buckets(weights: Mapping[str, float], total: int = BUCKETS) -> dict[str, int]:
    """Split `total` buckets between arms in proportion to `weights` (largest remainder)."""
    positive = {name: float(weight) for name, weight in weights.items() if weight > 0}
    weight_sum = sum(positive.values())
    if weight_sum <= 0:
        raise ValueError("at least one arm needs a positive weight")
    exact = {name: total * weight / weight_sum for name, weight in positive.items()}
    shares = {name: int(value) for name, value in exact.items()}
    left = total - sum(shares.values())
    by_remainder = sorted(exact, key=lambda name: (-(exact[name] - shares[name]), name))
    for name in by_remainder[:left]:
        shares[name] += 1
    return {name: shares.get(name, 0) for name in weights}


def experiment_shares(weights: Mapping[str, float], control_percent: float) -> dict[str, int]:
    """Buckets per arm: `control_percent` of them to the control arm, the rest by weight."""
    control = round(control_percent * BUCKETS / 100)
    shares = shares_in_buckets(weights, BUCKETS - control) if control < BUCKETS else {}
    if control:
        shares[CONTROL_ARM] = control
    return shares


def allocation_new(shares: Mapping[str, int]) -> list[BucketRange]:
    """Contiguous ranges in arm order, one per arm with buckets."""
    if sum(shares.values()) != BUCKETS:
        raise ValueError(f"shares must add up to {BUCKETS} buckets")
    ranges, start = [], 0
    for name, count in shares.items():
        if count > 0:
            ranges.append((start, start + count, name))
            start += count
    return ranges


def _merged(ranges: list[BucketRange]) -> list[BucketRange]:
    merged: list[BucketRange] = []
    for start, end, name in sorted(ranges):
        if merged and merged[-1][1] == start and merged[-1][2] == name:
            merged[-1] = (merged[-1][0], end, name)
        else:
            merged.append((start, end, name))
    return merged


def allocation_rebalance(
    ranges: Sequence[BucketRange], shares: Mapping[str, int]
) -> list[BucketRange]:
    """The allocation with `shares` buckets per arm, moving as few buckets as possible.

    Arms that shrink (or are gone) give up buckets from the end of their ranges; arms that grow
    (or are new) take exactly those freed buckets. Buckets of every other arm stay where they are.
    """
    if sum(shares.values()) != BUCKETS:
        raise ValueError(f"shares must add up to {BUCKETS} buckets")
    owned: dict[str, list[tuple[int, int]]] = {}
    for start, end, name in sorted(ranges):
        owned.setdefault(name, []).append((start, end))
    kept: list[BucketRange] = []
    freed: list[tuple[int, int]] = []
    for name, spans in owned.items():
        keep = shares.get(name, 0)
        for start, end in spans:
            take = min(end - start, keep)
            if take:
                kept.append((start, start + take, name))
            if start + take < end:
                freed.append((start + take, end))
            keep -= take
    freed.sort()
    held = {name: sum(end - start for start, end, arm in kept if arm == name) for name in shares}
    for name, wanted in shares.items():
        need = wanted - held[name]
        while need > 0:
            start, end = freed.pop(0)
            take = min(end - start, need)
            kept.append((start, start + take, name))
            if start + take < end:
                freed.insert(0, (start + take, end))
            need -= take
    return _merged(kept)


def arm_of_bucket(ranges: Sequence[BucketRange], bucket: int) -> str:
    """The arm owning `bucket` (ranges cover [0, BUCKETS) without gaps)."""
    for start, end, name in ranges:
        if start <= bucket < end:
            return name
    raise ValueError(f"bucket {bucket} is in no range")


def moved_share(before: Sequence[BucketRange], after: Sequence[BucketRange]) -> float:
    """The share of buckets (users) whose arm differs between two allocations."""
    moved = sum(
        1
        for bucket in range(BUCKETS)
        if arm_of_bucket(before, bucket) != arm_of_bucket(after, bucket)
    )
    return moved / BUCKETS


@dataclass(frozen=True, slots=True)
class ArmPlan:
    """How one arm routes: another version's compiled router, policy changes, or the control."""

    name: str
    control: bool = False
    version: int | None = None
    # Router.POLICY_FIELDS values applied over the arm's base policy (the console's vocabulary).
    policy_changes: Mapping[str, Any] = field(default_factory=dict)
    # compiled(router) -> the CompiledRouter of `version` (supplied by whoever rebuilds versions).
    compiled: Callable[[], Any] | None = None


@dataclass(frozen=True, slots=True)
class ExperimentPlan:
    """A running experiment as routing needs it: arms and the bucket allocation."""

    id: int
    name: str
    sticky_by: str  # one of STICKY_KEYS: the key tried first
    ranges: tuple[BucketRange, ...]
    arms: Mapping[str, ArmPlan]

    def assignment_key(self, *, user_id: str | None, session_id: str | None) -> tuple[str, str]:
        """(key kind, key): the preferred sticky key, else the other, else one per request."""
        keys = {"user_id": user_id, "session_id": session_id}
        order = (self.sticky_by, *[kind for kind in STICKY_KEYS if kind != self.sticky_by])
        for kind in order:
            if keys.get(kind):
                return kind, str(keys[kind])
        return "request", uuid.uuid4().hex

    def arm_for(self, *, user_id: str | None, session_id: str | None) -> tuple[ArmPlan, str]:
        """The caller's arm and the kind of key that chose it."""
        kind, key = self.assignment_key(user_id=user_id, session_id=session_id)
        return self.arms[arm_of_bucket(self.ranges, bucket_of(self.id, key))], kind


def control_decision(decision: Decision, tiers: Sequence[TierSpec]) -> Decision:
    """The decision as the control arm answers it: same intent, the most expensive enabled tier.

    A blocked decision stays blocked. The estimated cost becomes the decision's baseline cost.
    """
    enabled = [tier for tier in tiers if tier.enabled]
    if decision.blocked or not enabled:
        return decision
    # Token counts are not on the decision; the baseline already priced the most expensive tier.
    best = most_expensive_tier(enabled, 1000, 1000)
    if best is None or decision.tier == best.name:
        return replace(decision, estimated_cost_usd=decision.baseline_cost_usd)
    trace = decision.trace
    notes = [*trace.notes, f"experiment control arm: {best.name} answers"]
    return replace(
        decision,
        tier=best.name,
        model=best.model,
        provider=best.provider,
        estimated_cost_usd=decision.baseline_cost_usd or tier_cost_usd(best, 0, 0),
        trace=replace(trace, notes=notes, stages=list(trace.stages)),
    )
