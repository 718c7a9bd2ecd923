"""Chart-ready tables from the rollups (never the raw log): one `Table` per chart.

A Table is long-format rows with named columns: the chart draws it, the page shows it as its
table view and the CSV download writes it as is. `routers` is one router or None for all.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import QuerySet, Sum
from django.db.models.functions import TruncDay, TruncHour

from analytics.dashboards import histograms
from analytics.dashboards.models import (
    DailyIntentRollup,
    DailyTierRollup,
    HourlyIntentRollup,
    HourlyTierRollup,
)
from analytics.dashboards.rollups import day_floor
from analytics.dashboards.stats import mean_interval, wilson
from analytics.dashboards.timespan import Span
from analytics.review.selectors import quality_report

TOP_INTENTS = 8
NO_TIER = "(none)"
NO_INTENT = "(out of scope)"


@dataclass
class Table:
    key: str
    title: str
    columns: tuple[str, ...]
    rows: list[tuple] = field(default_factory=list)
    note: str = ""
    links: list[list[tuple[str, str]]] = field(default_factory=list)  # (label, url) per row

    def rows_linked(self) -> list[tuple[tuple, list[tuple[str, str]]]]:
        """Each row with its links (the page's table view; the CSV writes the rows alone)."""
        return [
            (row, self.links[i] if i < len(self.links) else []) for i, row in enumerate(self.rows)
        ]


TIER_ROLLUPS = (HourlyTierRollup, DailyTierRollup)
INTENT_ROLLUPS = (HourlyIntentRollup, DailyIntentRollup)


def rollup_parts(levels, span: Span, router, *, per_bucket: bool = True) -> list[QuerySet]:
    """The span's rollup rows, each queryset with its `bucket` (the span's hour or day) annotated.

    Whole UTC days inside the span come from the daily table and the hours before the first
    and after the last whole day from the hourly one, so a month reads about 30 rows per tier
    instead of 720. Hourly buckets (`per_bucket` on a span per hour) read hourly rows only.
    """
    hourly, daily = levels
    first_day = day_floor(span.start)
    if first_day < span.start:
        first_day += timedelta(days=1)
    last_day = day_floor(span.end)
    if (per_bucket and span.bucket == "hour") or first_day >= last_day:
        pieces = [(hourly, "hour", span.start, span.end)]
    else:
        pieces = [
            (hourly, "hour", span.start, first_day),
            (daily, "day", first_day, last_day),
            (hourly, "hour", last_day, span.end),
        ]
    parts = []
    for model, column, start, end in pieces:
        if start >= end:
            continue
        rows = model.objects.filter(**{f"{column}__gte": start, f"{column}__lt": end}).traffic(
            include_console=span.include_console
        )
        if router is not None:
            rows = rows.filter(router=router)
        bucket = TruncHour(column) if span.bucket == "hour" else TruncDay(column)
        parts.append(rows.order_by().annotate(bucket=bucket))
    return parts


def rollup_sums(parts: list[QuerySet], by: tuple[str, ...], **sums: str) -> dict[tuple, dict]:
    """{group of `by`: {name: sum of its column}} over every part (added up across parts);
    with no `by`, the one group () of the totals (zeros when there are no rows)."""
    aliases = {f"sum_{name}": Sum(column) for name, column in sums.items()}
    totals: dict[tuple, dict] = {} if by else {(): dict.fromkeys(sums, 0)}
    for rows in parts:
        grouped = rows.values(*by).annotate(**aliases) if by else [rows.aggregate(**aliases)]
        for row in grouped:
            into = totals.setdefault(tuple(row[name] for name in by), dict.fromkeys(sums, 0))
            for name in sums:
                into[name] += row[f"sum_{name}"] or 0
    return totals


def _label(moment: datetime, span: Span) -> str:
    return moment.strftime("%Y-%m-%d %H:00" if span.bucket == "hour" else "%Y-%m-%d")


def _pct(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 2)


def _tier(name: str) -> str:
    return name or NO_TIER


# Traffic ----------------------------------------------------------------------------------------


def traffic_tables(router, span: Span) -> list[Table]:
    by_tier = Table("traffic_tier", "Decisions per tier", ("time", "tier", "decisions", "share %"))
    cells = rollup_sums(rollup_parts(TIER_ROLLUPS, span, router), ("bucket", "tier"), n="decisions")
    totals: dict[datetime, int] = defaultdict(int)
    for (bucket, _), sums in cells.items():
        totals[bucket] += sums["n"]
    by_tier.rows = [
        (_label(bucket, span), _tier(tier), sums["n"], round(100 * sums["n"] / totals[bucket], 1))
        for (bucket, tier), sums in sorted(cells.items())
    ]
    per_intent = rollup_sums(
        rollup_parts(INTENT_ROLLUPS, span, router), ("bucket", "intent"), n="decisions"
    )
    intent_totals: dict[str, int] = defaultdict(int)
    for (_, intent), sums in per_intent.items():
        intent_totals[intent] += sums["n"]
    top = sorted(intent_totals, key=lambda intent: (-intent_totals[intent], intent))[:TOP_INTENTS]
    by_intent = Table(
        "traffic_intent",
        f"Decisions per intent (top {TOP_INTENTS}, the rest as other)",
        ("time", "intent", "decisions"),
    )
    counted: dict[tuple[datetime, str], int] = defaultdict(int)
    for (bucket, intent), sums in per_intent.items():
        name = (intent or NO_INTENT) if intent in top else "other"
        counted[(bucket, name)] += sums["n"]
    by_intent.rows = [
        (_label(bucket, span), name, n) for (bucket, name), n in sorted(counted.items())
    ]
    languages: dict[str, int] = defaultdict(int)
    for rows in rollup_parts(TIER_ROLLUPS, span, router, per_bucket=False):
        for spoken in rows.values_list("languages", flat=True):
            for language, n in spoken.items():
                languages[language or "(not detected)"] += n
    total = sum(languages.values())
    by_language = Table("languages", "Decisions per language", ("language", "decisions", "share %"))
    by_language.rows = [
        (language, n, round(100 * n / total, 1))
        for language, n in sorted(languages.items(), key=lambda item: -item[1])
    ]
    return [by_tier, by_intent, by_language]


# Cost -------------------------------------------------------------------------------------------


COST_SUMS = {
    "estimated": "estimated_cost_sum",
    "baseline": "baseline_cost_sum",
    "actual": "actual_cost_sum",
    "actual_n": "actual_cost_count",
}


@dataclass
class MonthToDate:
    month: str
    decisions: int
    estimated_usd: float
    baseline_usd: float
    saved_usd: float
    saved_pct: float | None
    actual_usd: float | None  # None: no gateway answer this month
    actual_decisions: int
    projected_usd: float  # the month's spend at this pace (actual where known, else estimated)


def month_to_date(router, now: datetime, *, include_console: bool = False) -> MonthToDate:
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    days = calendar.monthrange(now.year, now.month)[1]
    span = Span(
        start=start, end=now + timedelta(hours=1), bucket="day", include_console=include_console
    )
    parts = rollup_parts(TIER_ROLLUPS, span, router, per_bucket=False)
    sums = rollup_sums(parts, (), decisions="decisions", **COST_SUMS)[()]
    estimated, baseline = sums["estimated"], sums["baseline"]
    actual = sums["actual"] if sums["actual_n"] else None
    elapsed = max((now - start) / timedelta(days=days), 1 / (24 * days))
    spend = actual if actual is not None else estimated
    return MonthToDate(
        month=start.strftime("%B %Y"),
        decisions=sums["decisions"] or 0,
        estimated_usd=estimated,
        baseline_usd=baseline,
        saved_usd=baseline - estimated,
        saved_pct=_pct((baseline - estimated) / baseline) if baseline else None,
        actual_usd=actual,
        actual_decisions=sums["actual_n"] or 0,
        projected_usd=spend / elapsed,
    )


def cost_tables(router, span: Span) -> list[Table]:
    daily = Table(
        "cost_time",
        "Cost with routing vs everything on the most expensive tier",
        (
            "time",
            "estimated $",
            "baseline $",
            "saved $",
            "saved %",
            "actual $ (gateway)",
            "gateway decisions",
        ),
        note="Estimated: the router's price estimate for every decision. Actual: what the "
        "gateway paid, only for decisions it answered (empty until the gateway answers).",
    )
    per_bucket = rollup_sums(rollup_parts(TIER_ROLLUPS, span, router), ("bucket",), **COST_SUMS)
    for (bucket,), row in sorted(per_bucket.items()):
        saved = row["baseline"] - row["estimated"]
        daily.rows.append(
            (
                _label(bucket, span),
                round(row["estimated"], 6),
                round(row["baseline"], 6),
                round(saved, 6),
                _pct(saved / row["baseline"]) if row["baseline"] else None,
                round(row["actual"], 6) if row["actual_n"] else None,
                row["actual_n"],
            )
        )
    per_tier = Table(
        "cost_tier",
        "Average cost per query per tier (95% interval)",
        (
            "tier",
            "decisions",
            "estimated $/query",
            "low",
            "high",
            "gateway decisions",
            "actual $/query",
            "actual low",
            "actual high",
        ),
    )
    tiers = rollup_sums(
        rollup_parts(TIER_ROLLUPS, span, router, per_bucket=False),
        ("tier",),
        n="decisions",
        est="estimated_cost_sum",
        est_sq="estimated_cost_sq_sum",
        act_n="actual_cost_count",
        act="actual_cost_sum",
        act_sq="actual_cost_sq_sum",
    )
    for (tier,), row in sorted(tiers.items()):
        estimated = mean_interval(row["est"], row["est_sq"], row["n"]) or (None,) * 3
        actual = mean_interval(row["act"], row["act_sq"], row["act_n"]) or (None,) * 3
        per_tier.rows.append(
            (_tier(tier), row["n"], *_rounded(estimated), row["act_n"], *_rounded(actual))
        )
    return [daily, per_tier]


def _rounded(values) -> tuple:
    return tuple(None if value is None else round(value, 7) for value in values)


# Latency ----------------------------------------------------------------------------------------

LATENCY_KINDS = (
    ("routing decision", "latency_hist"),
    ("provider", "provider_latency_hist"),
    ("time to first token", "ttft_hist"),
)


def latency_tables(router, span: Span) -> list[Table]:
    by_tier = Table(
        "latency_tier",
        "Latency per tier (ms): p50 / p95 / p99",
        ("tier", "measure", "samples", "p50 ms", "p95 ms", "p99 ms"),
        note=f"Percentiles from log-spaced histograms: within {histograms.RELATIVE_ERROR:.1%} "
        "of the exact value. Provider and first-token latency only for gateway answers.",
    )
    # One pass over the rows (a month: ~30 daily rows per tier and channel plus the edge
    # hours): routing latency per bucket and tier, every kind per tier, merged here.
    over_time: dict[tuple, dict] = defaultdict(dict)
    per_tier: dict[tuple, dict] = defaultdict(dict)
    columns = [column for _, column in LATENCY_KINDS]
    for rows in rollup_parts(TIER_ROLLUPS, span, router):
        for bucket, tier, *kinds in rows.values_list("bucket", "tier", *columns):
            histograms.histogram_add(over_time[(bucket, tier)], kinds[0])
            for (kind, _), histogram in zip(LATENCY_KINDS, kinds, strict=True):
                histograms.histogram_add(per_tier[(tier, kind)], histogram)
    for (tier, kind), histogram in sorted(per_tier.items()):
        if histogram:
            by_tier.rows.append(
                (
                    _tier(tier),
                    kind,
                    sum(histogram.values()),
                    *(_ms(histograms.percentile(histogram, q)) for q in (50, 95, 99)),
                )
            )
    timeline = Table(
        "latency_time",
        "Routing decision latency over time (ms)",
        ("time", "tier", "samples", "p50 ms", "p95 ms"),
    )
    for (bucket, tier), histogram in sorted(over_time.items()):
        timeline.rows.append(
            (
                _label(bucket, span),
                _tier(tier),
                sum(histogram.values()),
                _ms(histograms.percentile(histogram, 50)),
                _ms(histograms.percentile(histogram, 95)),
            )
        )
    return [by_tier, timeline]


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3 if value < 10 else 1)


# Quality ----------------------------------------------------------------------------------------


def _rate_row(label: str, measure: str, count: int, of: int) -> tuple:
    interval = wilson(count, of)
    rate = count / of if of else None
    return (label, measure, count, of, _pct(rate), *(_pct(v) for v in (interval or (None, None))))


QUALITY_COLUMNS = ("tier", "measure", "count", "of", "rate %", "low %", "high %")


QUALITY_MEASURES = (
    "decisions",
    "thumbs_down",
    "thumbs_up",
    "reasked",
    "escalated",
    "cached",
    "out_of_scope",
    "llm_asked",
    "llm_failed",
    "blocked",
)


def quality_tables(router, span: Span) -> list[Table]:
    per_tier = Table(
        "quality_tier",
        "Quality per tier: thumbs-down, re-ask and escalation rates (95% Wilson interval)",
        QUALITY_COLUMNS,
        note="Escalation rate is of gateway decisions (channel gateway). The mis-routing rate "
        "(per router, in the table below) is from the review queue's reviewed random sample.",
    )
    by_channel = rollup_sums(
        rollup_parts(TIER_ROLLUPS, span, router, per_bucket=False),
        ("tier", "channel"),
        **{name: name for name in QUALITY_MEASURES},
    )
    tiers: dict[str, dict] = {}
    gateway: dict[str, int] = defaultdict(int)
    for (tier, channel), sums in by_channel.items():
        into = tiers.setdefault(tier, dict.fromkeys(QUALITY_MEASURES, 0))
        for name in QUALITY_MEASURES:
            into[name] += sums[name]
        if channel == "gateway":
            gateway[tier] += sums["decisions"]
    overall: dict[str, int] = defaultdict(int)
    for tier, row in sorted(tiers.items()):
        label = _tier(tier)
        per_tier.rows.append(_rate_row(label, "thumbs-down", row["thumbs_down"], row["decisions"]))
        per_tier.rows.append(_rate_row(label, "re-asked", row["reasked"], row["decisions"]))
        per_tier.rows.append(_rate_row(label, "escalated", row["escalated"], gateway[tier]))
        for name in QUALITY_MEASURES:
            overall[name] += row[name]
        overall["gateway"] += gateway[tier]
    total = overall["decisions"]
    summary = Table(
        "quality_overall",
        "Quality across tiers (95% Wilson interval)",
        ("scope", "measure", "count", "of", "rate %", "low %", "high %"),
    )
    summary.rows = [
        _rate_row("all", "thumbs-down", overall["thumbs_down"], total),
        _rate_row("all", "thumbs-up", overall["thumbs_up"], total),
        _rate_row("all", "re-asked", overall["reasked"], total),
        _rate_row("all", "escalated (gateway)", overall["escalated"], overall["gateway"]),
        _rate_row("all", "out of scope", overall["out_of_scope"], total),
        _rate_row("all", "cache hit", overall["cached"], total),
        _rate_row("all", "blocked by a rule", overall["blocked"], total),
        _rate_row("all", "LLM stage asked", overall["llm_asked"], total),
        _rate_row(
            "all", "LLM stage failed (of asked)", overall["llm_failed"], overall["llm_asked"]
        ),
    ]
    if router is not None:
        # Reviews are not rolled up by hour: the sample's whole history, whatever the span.
        misrouting = quality_report(router).misrouting
        summary.rows.append(
            _rate_row(
                "all",
                "mis-routed (reviewed random sample, all time)",
                misrouting["count"],
                misrouting["total"],
            )
        )
    timeline = Table(
        "quality_time",
        "Thumbs-down, re-ask and escalation rate over time",
        ("time", "measure", "count", "of", "rate %"),
    )
    per_bucket = rollup_sums(
        rollup_parts(TIER_ROLLUPS, span, router),
        ("bucket", "channel"),
        n="decisions",
        down="thumbs_down",
        re="reasked",
        esc="escalated",
    )
    buckets: dict[datetime, dict] = {}
    for (bucket, channel), sums in per_bucket.items():
        into = buckets.setdefault(bucket, {"n": 0, "down": 0, "re": 0, "esc": 0, "gateway": 0})
        for name in ("n", "down", "re", "esc"):
            into[name] += sums[name]
        if channel == "gateway":
            into["gateway"] += sums["n"]
    for bucket, row in sorted(buckets.items()):
        label = _label(bucket, span)
        for measure, count, of in (
            ("thumbs-down", row["down"], row["n"]),
            ("re-asked", row["re"], row["n"]),
            ("escalated", row["esc"], row["gateway"]),
        ):
            timeline.rows.append((label, measure, count, of, _pct(count / of) if of else None))
    return [summary, per_tier, timeline]


def router_summaries(span: Span) -> Table:
    """One row per router: decisions, estimated and baseline cost, saved %, thumbs-down rate."""
    table = Table(
        "routers",
        "Routers",
        (
            "router",
            "decisions",
            "estimated $",
            "baseline $",
            "saved %",
            "actual $ (gateway)",
            "thumbs-down %",
        ),
    )
    routers = rollup_sums(
        rollup_parts(TIER_ROLLUPS, span, None, per_bucket=False),
        ("router__slug",),
        n="decisions",
        est="estimated_cost_sum",
        base="baseline_cost_sum",
        act="actual_cost_sum",
        act_n="actual_cost_count",
        down="thumbs_down",
    )
    for (slug,), row in sorted(routers.items()):
        table.rows.append(
            (
                slug,
                row["n"],
                round(row["est"], 4),
                round(row["base"], 4),
                _pct((row["base"] - row["est"]) / row["base"]) if row["base"] else None,
                round(row["act"], 4) if row["act_n"] else None,
                _pct(row["down"] / row["n"]) if row["n"] else None,
            )
        )
    return table
