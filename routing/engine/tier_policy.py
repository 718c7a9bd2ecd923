"""Tier policy: the cheapest enabled model tier that meets every quality floor within the budget."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .snapshot import Policy, TierSpec


@dataclass(slots=True)
class TierChoice:
    tier: TierSpec | None
    required_quality: float
    notes: list[str] = field(default_factory=list)


def tier_cost_usd(tier: TierSpec, input_tokens: int, output_tokens: int) -> float:
    """Estimated USD cost of one call to `tier`."""
    return (input_tokens * tier.price_in_per_mtok + output_tokens * tier.price_out_per_mtok) / 1e6


def middle_tier(tiers: list[TierSpec]) -> TierSpec | None:
    """The middle-ranked enabled tier; with two tiers, the upper one (never the cheapest)."""
    if not tiers:
        return None
    ranked = sorted(tiers, key=lambda tier: tier.rank)
    return ranked[len(ranked) // 2]


def most_expensive_tier(
    tiers: list[TierSpec], input_tokens: int, output_tokens: int
) -> TierSpec | None:
    """The tier whose call would cost most (ties: the higher rank); the baseline for savings."""
    if not tiers:
        return None
    return max(
        tiers, key=lambda tier: (tier_cost_usd(tier, input_tokens, output_tokens), tier.rank)
    )


def fallback_tier(policy: Policy, tiers: Sequence[TierSpec]) -> TierSpec | None:
    """The tier a failed decision takes: the policy's fallback tier, else the middle enabled one."""
    if policy.fallback_tier:
        return next((tier for tier in tiers if tier.name == policy.fallback_tier), None)
    return middle_tier([tier for tier in tiers if tier.enabled])


def decision_tier(
    tiers: list[TierSpec],
    *,
    complexity: str,
    policy: Policy,
    min_tiers: Sequence[TierSpec] = (),
    failure_tier: TierSpec | None = None,
    predicted_tier: TierSpec | None = None,
    input_tokens: int,
    output_tokens: int,
) -> TierChoice:
    """The tier for one decision among the enabled `tiers`.

    Its quality floor is the highest of: the policy's floor for the complexity level, the
    minimum tiers the intent and the rules ask for (`min_tiers`) and, when a stage failed, the
    `failure_tier` (see `fallback_tier`), which answers itself unless a floor demands better.
    "No intent" is a result, not a failure: such a decision passes no `failure_tier`.
    `predicted_tier` (the quality predictor's choice) replaces the complexity level's floor.
    """
    if predicted_tier is not None:
        floors = [predicted_tier.quality]
    else:
        floors = [float(policy.complexity_min_quality.get(complexity, 0.0))]
    floors.extend(tier.quality for tier in min_tiers)
    if failure_tier is not None:
        floors.append(failure_tier.quality)
    required = max(floors)
    if failure_tier is not None and failure_tier.enabled and failure_tier.quality >= required:
        return TierChoice(failure_tier, required, [f"fallback tier {failure_tier.name}"])
    return choose_tier(
        tiers,
        required_quality=required,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        latency_budget_ms=policy.latency_budget_ms,
    )


def choose_tier(
    tiers: list[TierSpec],
    *,
    required_quality: float,
    input_tokens: int,
    output_tokens: int,
    latency_budget_ms: int | None,
) -> TierChoice:
    """Pick the cheapest tier (ties by rank) with quality >= required_quality within the budget.

    If no tier meets the quality within the budget, the best-quality tier within the budget is
    taken; if no tier fits the budget at all, the budget is ignored. Both cases are noted.
    """
    choice = TierChoice(tier=None, required_quality=required_quality)
    if not tiers:
        choice.notes.append("no enabled tier")
        return choice

    def cost_order(tier: TierSpec):
        return (tier_cost_usd(tier, input_tokens, output_tokens), tier.rank)

    within_budget = [
        tier for tier in tiers if latency_budget_ms is None or tier.latency_ms <= latency_budget_ms
    ]
    if not within_budget:
        choice.notes.append(
            f"no tier fits the latency budget of {latency_budget_ms} ms; budget ignored"
        )
        within_budget = tiers
    qualifying = [tier for tier in within_budget if tier.quality >= required_quality]
    if qualifying:
        choice.tier = min(qualifying, key=cost_order)
        return choice
    best_quality = max(tier.quality for tier in within_budget)
    choice.tier = min(
        (tier for tier in within_budget if tier.quality == best_quality), key=cost_order
    )
    where = "within the latency budget" if latency_budget_ms is not None else "among enabled tiers"
    choice.notes.append(
        f"no tier reaches quality {required_quality:g} {where}; "
        f"chose the best available ({choice.tier.name}, quality {best_quality:g})"
    )
    return choice


def complexity_tier_map(
    tiers: list[TierSpec], policy, *, input_tokens: int = 100
) -> dict[str, str | None]:
    """The tier each complexity level gets from the policy's floors alone (no intent, no rule):
    {"simple": "gpt-4o-mini", ...}; None when no tier is enabled. `policy` is a snapshot Policy."""
    enabled = [tier for tier in tiers if tier.enabled]
    mapping: dict[str, str | None] = {}
    for level, floor in policy.complexity_min_quality.items():
        choice = choose_tier(
            enabled,
            required_quality=float(floor),
            input_tokens=input_tokens,
            output_tokens=int(policy.expected_output_tokens.get(level, 0)),
            latency_budget_ms=policy.latency_budget_ms,
        )
        mapping[level] = choice.tier.name if choice.tier else None
    return mapping
