"""Chart-ready tables from the rollups (never the raw log): one `Table` per chart.

A Table is long-format rows with named columns: the chart draws it, the page shows it as its
table view and the CSV download writes it as is. `routers` is one router or None for all.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.db.models import F, Sum
from django.db.models.functions import TruncDay, TruncHour

from analytics.dashboards import histograms
from analytics.dashboards.models import HourlyIntentRollup, HourlyTierRollup
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


def _rollups(model, span: Span, router):
    rows = model.objects.filter(hour__gte=span.start, hour__lt=span.end).traffic(
        include_console=span.include_console
    )
    return rows.filter(router=router) if router is not None else rows


def _bucket(span: Span):
    return TruncHour("hour") if span.bucket == "hour" else TruncDay("hour")


def _label(moment: datetime, span: Span) -> str:
    return moment.strftime("%Y-%m-%d %H:00" if span.bucket == "hour" else "%Y-%m-%d")


def _pct(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 2)


def _tier(name: str) -> str:
    return name or NO_TIER


# Traffic ----------------------------------------------------------------------------------------


def traffic_tables(router, span: Span) -> list[Table]:
    by_tier = Table("traffic_tier", "Decisions per tier", ("time", "tier", "decisions", "share %"))
    rows = (
        _rollups(HourlyTierRollup, span, router)
        .annotate(bucket=_bucket(span))
        .values("bucket", "tier")
        .annotate(n=Sum("decisions"))
        .order_by("bucket", "tier")
    )
    totals: dict[datetime, int] = defaultdict(int)
    cells = [(row["bucket"], row["tier"], row["n"]) for row in rows]
    for bucket, _, n in cells:
        totals[bucket] += n
    by_tier.rows = [
        (_label(bucket, span), _tier(tier), n, round(100 * n / totals[bucket], 1))
        for bucket, tier, n in cells
    ]
    intents = _rollups(HourlyIntentRollup, span, router)
    top = [
        row["intent"]
        for row in intents.values("intent")
        .annotate(n=Sum("decisions"))
        .order_by("-n")[:TOP_INTENTS]
    ]
    by_intent = Table(
        "traffic_intent",
        f"Decisions per intent (top {TOP_INTENTS}, the rest as other)",
        ("time", "intent", "decisions"),
    )
    counted: dict[tuple[datetime, str], int] = defaultdict(int)
    for row in (
        intents.annotate(bucket=_bucket(span))
        .values("bucket", "intent")
        .annotate(n=Sum("decisions"))
    ):
        name = (row["intent"] or NO_INTENT) if row["intent"] in top else "other"
        counted[(row["bucket"], name)] += row["n"]
    by_intent.rows = [
        (_label(bucket, span), name, n) for (bucket, name), n in sorted(counted.items())
    ]
    languages: dict[str, int] = defaultdict(int)
    for spoken in _rollups(HourlyTierRollup, span, router).values_list("languages", flat=True):
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


def _cost_sums(queryset):
    return queryset.aggregate(
        estimated=Sum("estimated_cost_sum"),
        baseline=Sum("baseline_cost_sum"),
        actual=Sum("actual_cost_sum"),
        actual_n=Sum("actual_cost_count"),
        decisions=Sum("decisions"),
    )


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
    sums = _cost_sums(_rollups(HourlyTierRollup, span, router))
    estimated, baseline = sums["estimated"] or 0.0, sums["baseline"] or 0.0
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
    for row in (
        _rollups(HourlyTierRollup, span, router)
        .annotate(bucket=_bucket(span))
        .values("bucket")
        .annotate(
            estimated=Sum("estimated_cost_sum"),
            baseline=Sum("baseline_cost_sum"),
            actual=Sum("actual_cost_sum"),
            actual_n=Sum("actual_cost_count"),
        )
        .order_by("bucket")
    ):
        saved = row["baseline"] - row["estimated"]
        daily.rows.append(
            (
                _label(row["bucket"], span),
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
    for row in (
        _rollups(HourlyTierRollup, span, router)
        .values("tier")
        .annotate(
            n=Sum("decisions"),
            est=Sum("estimated_cost_sum"),
            est_sq=Sum("estimated_cost_sq_sum"),
            act_n=Sum("actual_cost_count"),
            act=Sum("actual_cost_sum"),
            act_sq=Sum("actual_cost_sq_sum"),
        )
        .order_by("tier")
    ):
        estimated = mean_interval(row["est"], row["est_sq"], row["n"]) or (None,) * 3
        actual = mean_interval(row["act"], row["act_sq"], row["act_n"]) or (None,) * 3
        per_tier.rows.append(
            (_tier(row["tier"]), row["n"], *_rounded(estimated), row["act_n"], *_rounded(actual))
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


def _merged_histograms(
    queryset, column: str, groups: tuple[str, ...]
) -> dict[tuple, dict[int, int]]:
    """{group: merged histogram} of `column` over `queryset`, added up in the database."""
    sql, params = queryset.values(*groups, column).query.sql_with_params()
    names = ", ".join(connection.ops.quote_name(name) for name in groups)
    each = "jsonb_each_text" if connection.vendor == "postgresql" else "json_each"
    cast = "::bigint" if connection.vendor == "postgresql" else ""
    merged: dict[tuple, dict[int, int]] = defaultdict(dict)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {names}, kv.key, SUM(kv.value{cast}) FROM ({sql}) rolled, "
            f"{each}(rolled.{connection.ops.quote_name(column)}) kv GROUP BY {names}, kv.key",
            params,
        )
        for *group, bucket, count in cursor.fetchall():
            merged[tuple(group)][int(bucket)] = int(count)
    return merged


def _aware(moment) -> datetime:
    if isinstance(moment, str):  # SQLite's truncation is text
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def latency_tables(router, span: Span) -> list[Table]:
    rolled = _rollups(HourlyTierRollup, span, router)
    by_tier = Table(
        "latency_tier",
        "Latency per tier (ms): p50 / p95 / p99",
        ("tier", "measure", "samples", "p50 ms", "p95 ms", "p99 ms"),
        note=f"Percentiles from log-spaced histograms: within {histograms.RELATIVE_ERROR:.1%} "
        "of the exact value. Provider and first-token latency only for gateway answers.",
    )
    # Routing latency over time, merged per tier here: one database pass instead of two.
    over_time = _merged_histograms(
        rolled.annotate(bucket=_bucket(span)), "latency_hist", ("bucket", "tier")
    )
    routing_by_tier: dict[tuple, dict[int, int]] = defaultdict(dict)
    for (_, tier), hist in over_time.items():
        histograms.histogram_add(routing_by_tier[(tier,)], hist)
    for kind, column in LATENCY_KINDS:
        merged = (
            routing_by_tier
            if column == "latency_hist"
            else _merged_histograms(rolled, column, ("tier",))
        )
        for (tier,), hist in sorted(merged.items()):
            by_tier.rows.append(
                (
                    _tier(tier),
                    kind,
                    sum(hist.values()),
                    *(_ms(histograms.percentile(hist, q)) for q in (50, 95, 99)),
                )
            )
    by_tier.rows.sort(key=lambda row: (row[0], row[1]))
    timeline = Table(
        "latency_time",
        "Routing decision latency over time (ms)",
        ("time", "tier", "samples", "p50 ms", "p95 ms"),
    )
    for (bucket, tier), hist in sorted(
        over_time.items(), key=lambda item: (_aware(item[0][0]), item[0][1])
    ):
        timeline.rows.append(
            (
                _label(_aware(bucket), span),
                _tier(tier),
                sum(hist.values()),
                _ms(histograms.percentile(hist, 50)),
                _ms(histograms.percentile(hist, 95)),
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


def quality_tables(router, span: Span) -> list[Table]:
    measures = {
        name: Sum(name)
        for name in (
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
    }
    per_tier = Table(
        "quality_tier",
        "Quality per tier: thumbs-down, re-ask and escalation rates (95% Wilson interval)",
        QUALITY_COLUMNS,
        note="Escalation rate is of gateway decisions (channel gateway). The mis-routing rate "
        "(per router, in the table below) is from the review queue's reviewed random sample.",
    )
    rolled = _rollups(HourlyTierRollup, span, router)
    gateway = dict(
        rolled.filter(channel="gateway")
        .values("tier")
        .annotate(n=Sum("decisions"))
        .values_list("tier", "n")
    )
    overall = defaultdict(int)
    for row in rolled.values("tier").annotate(**measures).order_by("tier"):
        tier = _tier(row["tier"])
        per_tier.rows.append(_rate_row(tier, "thumbs-down", row["thumbs_down"], row["decisions"]))
        per_tier.rows.append(_rate_row(tier, "re-asked", row["reasked"], row["decisions"]))
        per_tier.rows.append(
            _rate_row(tier, "escalated", row["escalated"], gateway.get(row["tier"], 0))
        )
        for name in measures:
            overall[name] += row[name]
        overall["gateway"] += gateway.get(row["tier"], 0)
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
    gateway_by_bucket = dict(
        rolled.filter(channel="gateway")
        .annotate(bucket=_bucket(span))
        .values("bucket")
        .annotate(n=Sum("decisions"))
        .values_list("bucket", "n")
    )
    for row in (
        rolled.annotate(bucket=_bucket(span))
        .values("bucket")
        .annotate(
            n=Sum("decisions"), down=Sum("thumbs_down"), re=Sum("reasked"), esc=Sum("escalated")
        )
        .order_by("bucket")
    ):
        label, gw = _label(row["bucket"], span), gateway_by_bucket.get(row["bucket"], 0)
        for measure, count, of in (
            ("thumbs-down", row["down"], row["n"]),
            ("re-asked", row["re"], row["n"]),
            ("escalated", row["esc"], gw),
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
    for row in (
        _rollups(HourlyTierRollup, span, None)
        .values(slug=F("router__slug"))
        .annotate(
            n=Sum("decisions"),
            est=Sum("estimated_cost_sum"),
            base=Sum("baseline_cost_sum"),
            act=Sum("actual_cost_sum"),
            act_n=Sum("actual_cost_count"),
            down=Sum("thumbs_down"),
        )
        .order_by("slug")
    ):
        table.rows.append(
            (
                row["slug"],
                row["n"],
                round(row["est"], 4),
                round(row["base"], 4),
                _pct((row["base"] - row["est"]) / row["base"]) if row["base"] else None,
                round(row["act"], 4) if row["act_n"] else None,
                _pct(row["down"] / row["n"]) if row["n"] else None,
            )
        )
    return table
