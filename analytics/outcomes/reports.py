"""Chart-ready reads of the outcomes pages: counts, and the cost-vs-quality curve of the fitted head."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count

from analytics.outcomes.models import Outcome
from routing.engine.errors import SnapshotError
from routing.engine.quality import NEVER, quality_head_from_document
from routing.engine.tier_policy import tier_cost_usd
from routing.models import ModelTier, Router
from routing.services.quality_heads import quality_head_current
from routing.snapshots import tier_spec

TYPICAL_INPUT_TOKENS = 100  # for the expected-savings figure; the policy gives the output tokens


def outcome_counts(router: Router) -> dict:
    rows = (
        Outcome.objects.for_router(router)
        .values("tier", "source")
        .annotate(n=Count("id"))
        .order_by("tier", "source")
    )
    by_tier: dict[str, int] = {}
    by_source: dict[str, int] = {}
    for row in rows:
        by_tier[row["tier"]] = by_tier.get(row["tier"], 0) + row["n"]
        by_source[row["source"]] = by_source.get(row["source"], 0) + row["n"]
    return {"total": sum(by_tier.values()), "by_tier": by_tier, "by_source": by_source}


@dataclass(slots=True)
class TierCurve:
    """One tier below the best against the best, on the held-out outcomes."""

    tier: str
    best_tier: str
    best_share: list[float]  # share of calls to the best tier, per threshold
    quality: list[float]  # fraction of the best tier's quality kept
    thresholds: list[float]
    random_quality: tuple[float, float]  # at best share 0 and 1
    held_out: int
    auc: float | None
    operating: dict | None = None  # at the policy's target: threshold, best_share, quality, saving

    @property
    def table(self) -> list[tuple[float, float, float]]:
        return list(zip(self.thresholds, self.best_share, self.quality, strict=True))


@dataclass(slots=True)
class CurveReport:
    target: float | None
    head_label: str = ""
    trained_at: str = ""
    outcomes: int = 0
    curves: list[TierCurve] = field(default_factory=list)
    problem: str = ""


def _saving(router: Router, tier: str, best: str, best_share: float) -> float | None:
    tiers = {t.name: tier_spec(t) for t in ModelTier.objects.filter(router=router)}
    if tier not in tiers or best not in tiers:
        return None
    output = router.output_tokens_moderate
    cheap = tier_cost_usd(tiers[tier], TYPICAL_INPUT_TOKENS, output)
    strong = tier_cost_usd(tiers[best], TYPICAL_INPUT_TOKENS, output)
    if strong <= 0:
        return None
    return 1.0 - (best_share * strong + (1 - best_share) * cheap) / strong


def curve_report(router: Router, *, target: float | None) -> CurveReport:
    """The current head's held-out curves and, at `target`, the operating point of each tier."""
    report = CurveReport(target=target)
    stored = quality_head_current(router)
    if stored is None:
        report.problem = "No quality head yet: import outcomes and fit one."
        return report
    try:
        head = quality_head_from_document(stored.document)
    except SnapshotError as exc:
        report.problem = str(exc)
        return report
    report.head_label, report.trained_at, report.outcomes = (
        head.label,
        head.trained_at,
        head.outcomes,
    )
    metrics = (stored.summary or {}).get("tiers", {})
    for model in head.tiers:
        curve = model.curve
        best_mean = curve.best_mean or 1.0
        entry = TierCurve(
            tier=model.tier,
            best_tier=head.best_tier,
            best_share=[1.0 - share for share in curve.tier_share.tolist()],
            quality=curve.quality.tolist(),
            thresholds=curve.thresholds.tolist(),
            random_quality=(curve.tier_mean / best_mean, 1.0),
            held_out=curve.held_out,
            auc=metrics.get(model.tier, {}).get("auc"),
        )
        if target is not None:
            threshold = curve.threshold_for(target)
            quality, tier_share = curve.at(threshold)
            entry.operating = {
                "threshold": None if threshold == NEVER else threshold,
                "best_share": 1.0 - tier_share,
                "quality": quality,
                "saving": _saving(router, model.tier, head.best_tier, 1.0 - tier_share),
            }
        report.curves.append(entry)
    return report
