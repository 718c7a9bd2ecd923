"""Plain, page-ready numbers for the judge and shadow pages (views never aggregate)."""

from __future__ import annotations

import math

from django.db.models import Count, Q, Sum

from analytics.experiments import stats
from analytics.experiments.budget import judge_settings, spend_today
from analytics.experiments.models import JudgeVerdict, ShadowComparison, ShadowTest, Verdict

GOOD = [Verdict.BETTER, Verdict.SAME]
DISAGREEMENTS_SHOWN = 100


def _rate(successes: int, n: int) -> dict:
    return {
        "successes": successes,
        "count": n,
        "value": successes / n if n else None,
        "interval": stats.wilson_interval(successes, n),
    }


def judge_summary(router) -> dict:
    """The judge's results for a router: "as good as the best" per intent and tier, position
    bias, verdict counts, today's spend against the budget."""
    verdicts = JudgeVerdict.objects.filter(router=router)
    judged = verdicts.filter(state="done").exclude(verdict=Verdict.INVALID)
    by_intent_tier = [
        {
            "intent": row["intent"],
            "tier": row["tier"],
            **_rate(row["good"], row["n"]),
        }
        for row in judged.values("intent", "tier")
        .annotate(n=Count("id"), good=Count("id", filter=Q(verdict__in=GOOD)))
        .order_by("tier", "intent")
    ]
    overall = judged.aggregate(n=Count("id"), good=Count("id", filter=Q(verdict__in=GOOD)))
    positions = judged.aggregate(
        first=Count("id", filter=Q(preferred_position="A")),
        second=Count("id", filter=Q(preferred_position="B")),
    )
    decided = positions["first"] + positions["second"]
    bias_test = None
    if decided:
        # Without position bias the first-shown answer wins half of the decided verdicts.
        z = (positions["first"] - decided / 2) / math.sqrt(decided / 4)
        bias_test = {
            "test": "two-sided z test of the first-shown share against 0.5",
            "minimum_sample": "20 decided verdicts",
            "enough_sample": decided >= 20,
            "p_value": 2 * stats.normal_sf(abs(z)) if decided >= 20 else None,
        }
    counts = dict(verdicts.values_list("state").annotate(n=Count("id")).order_by())
    settings = judge_settings(router.pk)
    spend = spend_today(router.pk)
    return {
        "by_intent_tier": by_intent_tier,
        "as_good_as_best": _rate(overall["good"], overall["n"]),
        "position_bias": {
            "first_shown_preferred": _rate(positions["first"], decided),
            "test": bias_test,
        },
        "invalid": verdicts.filter(verdict=Verdict.INVALID).count(),
        "states": counts,
        "settings": settings,
        "spend_today_usd": spend.judge_usd + spend.shadow_usd,
        "judge_calls_today": spend.judge_calls,
        "skipped_over_budget_today": spend.skipped_over_budget,
        "budget_reached": spend.judge_usd + spend.shadow_usd >= settings.daily_budget_usd,
        "recent": list(verdicts.order_by("-created_at")[:50]),
    }


def shadow_summary(shadow: ShadowTest) -> dict:
    """Agreement with the live decisions, the disagreements, projected cost and quality change."""
    comparisons = ShadowComparison.objects.filter(shadow=shadow)
    totals = comparisons.aggregate(
        n=Count("id"),
        agreed=Count("id", filter=Q(agreed=True)),
        live_cost=Sum("live_cost_usd"),
        candidate_cost=Sum("candidate_cost_usd"),
    )
    n, live_cost = totals["n"], totals["live_cost"] or 0.0
    candidate_cost = totals["candidate_cost"] or 0.0
    rated = comparisons.filter(live_quality__isnull=False, candidate_quality__isnull=False)
    quality = rated.aggregate(
        n=Count("id"), live=Sum("live_quality"), candidate=Sum("candidate_quality")
    )
    return {
        "agreement": _rate(totals["agreed"], n),
        "live_cost_usd": live_cost,
        "candidate_cost_usd": candidate_cost,
        "cost_change": (candidate_cost - live_cost) / live_cost if live_cost else None,
        # Mean quality score of the chosen tiers (the tiers' configured quality), candidate - live.
        "quality_change": (
            ((quality["candidate"] or 0.0) - (quality["live"] or 0.0)) / quality["n"]
            if quality["n"]
            else None
        ),
        "quality_count": quality["n"],
        "disagreements": list(
            comparisons.filter(agreed=False).order_by("-created_at")[:DISAGREEMENTS_SHOWN]
        ),
        "disagreement_count": n - totals["agreed"],
    }
