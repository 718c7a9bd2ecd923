"""Read-models for the console pages: chart-ready numbers and tables. Views call these; they never aggregate.

Decision-log data (today's traffic, recent queries) comes through routing.decision_hooks, never from
analytics directly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce

from routing.config_io import config_diff
from routing.conflicts import ExampleConflict
from routing.decision_hooks import hooks
from routing.engine.decision import Decision
from routing.engine.errors import SnapshotError
from routing.engine.rules import REGEX_TIMEOUT_SECONDS, compile_rule
from routing.engine.snapshot import RuleSpec
from routing.models import Example, Intent, ModelTier, Router, RouterVersion
from routing.provider_keys import provider_key


def routers_overview() -> list[Router]:
    """Every router with intent_count, example_count (one query) and traffic_today (the hook's)."""

    def per_router(model, path: str):
        return Subquery(
            model.objects.filter(**{path: OuterRef("pk")})
            .order_by()
            .values(path)
            .annotate(c=Count("*"))
            .values("c")[:1],
            output_field=IntegerField(),
        )

    routers = list(
        Router.objects.order_by("slug").annotate(
            intent_count=Coalesce(per_router(Intent, "router"), 0),
            example_count=Coalesce(per_router(Example, "intent__router"), 0),
        )
    )
    traffic = hooks.traffic_today()
    for router in routers:
        router.traffic_today = traffic.get(router.pk, 0)
    return routers


def intent_rows(
    router: Router, conflicts: Sequence[ExampleConflict], *, name: str | None = None
) -> list[Intent]:
    """The router's intents (or just `name`) with example_count and conflict_count, for the table."""
    counts = Counter(conflict.intent for conflict in conflicts)
    rows = router.intents.with_example_count().select_related("min_tier").order_by("name")
    intents = list(rows.filter(name=name) if name is not None else rows)
    for intent in intents:
        intent.conflict_count = counts.get(intent.name, 0)
    return intents


@dataclass(frozen=True, slots=True)
class TierRow:
    tier: ModelTier
    key_present: bool | None  # None: the tier names no key variable


def tier_rows(router: Router) -> list[TierRow]:
    return [
        TierRow(
            tier=tier,
            # What the providers would read: a variable off the allow-list counts as missing.
            key_present=bool(provider_key(tier.api_key_env)) if tier.api_key_env else None,
        )
        for tier in router.tiers.order_by("rank", "name")
    ]


MAX_MOVE_OFFERS = 20


def examples_elsewhere(
    router: Router, intent: Intent, *, texts: Sequence[str] = (), ids: Sequence[int] = ()
) -> list[Example]:
    """Examples of the router's other intents with one of `texts` or `ids`: what "move it here" offers."""
    if not texts and not ids:
        return []
    wanted = (
        Example.objects.filter(text__in=set(texts)) if texts else Example.objects.filter(pk__in=ids)
    )
    return list(
        wanted.filter(intent__router=router)
        .exclude(intent=intent)
        .select_related("intent")
        .order_by("text")[:MAX_MOVE_OFFERS]
    )


def tier_dependants(router: Router, tier: ModelTier) -> list[str]:
    """What deleting `tier` takes with it or changes, in words for the confirmation page."""
    lines = []
    rules = router.rules.filter(tier=tier).count()
    if rules:
        lines.append(f"Its {rules} min-tier rule(s) go with it.")
    floors = list(router.intents.filter(min_tier=tier).values_list("name", flat=True))
    if floors:
        lines.append(f"Intents that lose it as their minimum tier: {', '.join(floors)}.")
    if router.fallback_tier_id == tier.pk:
        lines.append("The router loses its fallback tier; set another on the Policy page.")
    return lines


@dataclass(frozen=True, slots=True)
class SampleQuery:
    text: str
    source: str  # "example of <intent>" or "recent"


def sample_queries(router: Router, *, examples: int = 150, recent: int = 150) -> list[SampleQuery]:
    """Recent distinct logged queries, then an even spread of the router's examples."""
    seen: set[str] = set()
    samples: list[SampleQuery] = []
    for text in hooks.recent_queries(router, recent):
        if text not in seen:
            seen.add(text)
            samples.append(SampleQuery(text, "recent"))
    rows = list(
        Example.objects.filter(intent__router=router)
        .order_by("id")
        .values_list("text", "intent__name")
    )
    step = max(1, len(rows) // examples) if rows else 1
    for text, intent in rows[::step][:examples]:
        if text not in seen:
            seen.add(text)
            samples.append(SampleQuery(text, f"example of {intent}"))
    return samples


@dataclass(slots=True)
class PatternTest:
    checked: int = 0
    matches: list[SampleQuery] = field(default_factory=list)
    error: str = ""


def rule_pattern_test(router: Router, *, kind: str, pattern: str, limit: int = 50) -> PatternTest:
    """Which sample queries (examples and recent traffic) a keyword or regex pattern matches."""
    report = PatternTest()
    try:
        rule = compile_rule(RuleSpec(id=0, kind=kind, pattern=pattern, priority=0, action="route"))
    except SnapshotError as exc:
        report.error = str(exc).removeprefix("rule 0: ")
        return report
    for sample in sample_queries(router, examples=2000, recent=500):
        report.checked += 1
        try:
            matched = rule.pattern.search(sample.text, timeout=REGEX_TIMEOUT_SECONDS)
        except TimeoutError:
            report.error = "The pattern timed out on some queries (catastrophic backtracking?)."
            continue
        if matched and len(report.matches) < limit:
            report.matches.append(sample)
    return report


@dataclass(frozen=True, slots=True)
class ChangedDecision:
    query: str
    source: str
    before: str  # "intent / tier"
    after: str


@dataclass(slots=True)
class PolicyPreview:
    total: int
    changed: list[ChangedDecision]
    intents_before: dict[str, int]
    intents_after: dict[str, int]

    @property
    def changed_count(self) -> int:
        return len(self.changed)


def _label(decision: Decision) -> str:
    return f"{decision.intent or 'no intent'} / {decision.tier or 'no tier'}"


def policy_preview(
    samples: Sequence[SampleQuery], before: Sequence[Decision], after: Sequence[Decision]
) -> PolicyPreview:
    changed = [
        ChangedDecision(sample.text, sample.source, _label(old), _label(new))
        for sample, old, new in zip(samples, before, after, strict=True)
        if (old.intent, old.tier) != (new.intent, new.tier)
    ]
    return PolicyPreview(
        total=len(samples),
        changed=changed,
        intents_before=dict(Counter(d.intent or "no intent" for d in before)),
        intents_after=dict(Counter(d.intent or "no intent" for d in after)),
    )


@dataclass(slots=True)
class BatchSummary:
    rows: list[tuple[str, Decision]]
    by_intent: dict[str, int]
    by_tier: dict[str, int]
    total_cost_usd: float
    baseline_cost_usd: float

    @property
    def savings_pct(self) -> float:
        return percent_saved(self.total_cost_usd, self.baseline_cost_usd)


def batch_summary(queries: Sequence[str], decisions: Sequence[Decision]) -> BatchSummary:
    return BatchSummary(
        rows=list(zip(queries, decisions, strict=True)),
        by_intent=dict(Counter(d.intent or "no intent" for d in decisions).most_common()),
        by_tier=dict(Counter(d.tier or "no tier" for d in decisions).most_common()),
        total_cost_usd=sum(d.estimated_cost_usd for d in decisions),
        baseline_cost_usd=sum(d.baseline_cost_usd for d in decisions),
    )


def percent_saved(cost_usd: float, baseline_usd: float) -> float:
    """How much cheaper `cost_usd` is than the baseline, in percent (0 without a baseline)."""
    return 100.0 * (1 - cost_usd / baseline_usd) if baseline_usd else 0.0


def savings_pct(decision: Decision) -> float:
    return percent_saved(decision.estimated_cost_usd, decision.baseline_cost_usd)


@dataclass(frozen=True, slots=True)
class VersionRow:
    version: RouterVersion
    changes: list[str]


def version_history(router: Router, *, limit: int = 50) -> list[VersionRow]:
    """The latest versions, each with what changed since the version before it."""
    versions = list(
        RouterVersion.objects.filter(router=router)
        .select_related("created_by")
        .order_by("-number")[: limit + 1]
    )
    rows = []
    for newer, older in zip(versions, versions[1:] + [None], strict=True):
        if len(rows) == limit:
            break
        changes = config_diff(older.config, newer.config) if older else ["created"]
        rows.append(VersionRow(newer, changes))
    return rows
