"""Hourly rollups: aggregate the decision log one hour at a time, idempotently.

Re-rolling an hour deletes its rollup rows and writes them again from the raw log, so running
twice is harmless and a late decision (flushed after its hour, or long after when the database
was down) is counted the next time its hour is rolled. The days an hour belongs to are then
rewritten from their hourly rows (the daily level, in the same transaction, so a day always
equals the sum of its hours). Which hours a run rewrites:
- every hour whose raw decision count differs from its rolled-up count (reconciliation, within
  the raw-decision retention window), which also covers the first run and every late row;
- the last LOOKBACK_HOURS (re-ask flags set a little after the decision);
- the hours of decisions whose feedback changed since the previous run;
and then every day whose daily rows do not add up to its hourly rows (the first run after the
daily level was added fills it from the hourly rollups, raw rows or not).
`rollup_run(since=...)` rewrites every hour from `since` instead.

Aggregation runs in the database (GROUP BY per dimension set, latency histograms grouped by
bucket); only group results reach Python.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    Count,
    F,
    FloatField,
    Q,
    Sum,
    Value,
)
from django.db.models.expressions import ExpressionWrapper, RawSQL
from django.db.models.functions import Coalesce, Floor, Greatest, Ln, TruncDay, TruncHour
from django.utils import timezone

from analytics.dashboards import histograms
from analytics.dashboards.models import (
    DailyIntentRollup,
    DailyTierRollup,
    HourlyIntentRollup,
    HourlyRollup,
    HourlyTierRollup,
    RollupState,
)
from analytics.models import DecisionLog, Feedback
from routing.models import Router

LOOKBACK_HOURS = 2
CHUNK_HOURS = 24  # hours aggregated per query: bounds the memory one query's groups take

DIMENSIONS = ("hour", "intent", "tier", "stage", "channel", "experiment_id", "experiment_arm")
TIER_DIMENSIONS = ("hour", "tier", "channel")
INTENT_DIMENSIONS = ("hour", "intent", "channel")
COUNTERS = (
    "decisions",
    "cached",
    "blocked",
    "out_of_scope",
    "escalated",
    "escalation_count",
    "reasked",
    "thumbs_down",
    "thumbs_up",
    "llm_asked",
    "llm_failed",
    "actual_cost_count",
    "provider_latency_count",
    "ttft_count",
    "prompt_tokens",
    "completion_tokens",
)
SUMS = (
    "estimated_cost_sum",
    "estimated_cost_sq_sum",
    "baseline_cost_sum",
    "actual_cost_sum",
    "actual_cost_sq_sum",
    "latency_sum",
    "latency_sq_sum",
    "provider_latency_sum",
    "provider_latency_sq_sum",
    "ttft_sum",
    "ttft_sq_sum",
)
HISTOGRAMS = {
    "latency_hist": "latency_ms",
    "provider_latency_hist": "provider_latency_ms",
    "ttft_hist": "ttft_ms",
}

# The LLM stage ran: the trace has a stage timing "llm"; it failed unless its outcome is "chose ...".
_LLM_SQL = {
    "postgresql": (
        "jsonb_path_exists(trace, '$.stages[*] ? (@.stage == \"llm\")')",
        'jsonb_path_exists(trace, \'$.stages[*] ? (@.stage == "llm" && '
        '!(@.outcome starts with "chose "))\')',
    ),
    "sqlite": (
        "EXISTS (SELECT 1 FROM json_each(trace, '$.stages') "
        "WHERE json_extract(value, '$.stage') = 'llm')",
        "EXISTS (SELECT 1 FROM json_each(trace, '$.stages') "
        "WHERE json_extract(value, '$.stage') = 'llm' "
        "AND substr(COALESCE(json_extract(value, '$.outcome'), ''), 1, 6) != 'chose ')",
    ),
}


def hour_floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def day_floor(moment: datetime) -> datetime:
    return hour_floor(moment).replace(hour=0)


def retention_cutoff(now: datetime) -> datetime | None:
    """Raw decisions older than this are deleted by retention_apply (None: kept forever)."""
    days = settings.SEMROUTE_DECISION_RETENTION_DAYS
    return hour_floor(now - timedelta(days=days)) if days else None


def rewrite_floor(cutoff: datetime | None, pruned_before: datetime | None) -> datetime | None:
    """The first hour a run may rewrite from the raw log: the retention cutoff, or where an
    earlier pruning stopped if that is later (a retention raised after pruning has no raw rows
    to rewrite those hours from)."""
    return max((moment for moment in (cutoff, pruned_before) if moment), default=None)


def _square(name: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(name) * F(name), output_field=FloatField())


def _rated(rating: str):
    return Feedback.objects.filter(rating=rating).values("decision_id")


def _aggregates() -> dict:
    llm_asked_sql, llm_failed_sql = _LLM_SQL[connection.vendor]
    return {
        "decisions": Count("pk"),
        "cached": Count("pk", filter=Q(cached=True)),
        "blocked": Count("pk", filter=Q(blocked=True)),
        "out_of_scope": Count("pk", filter=Q(intent__isnull=True, blocked=False)),
        "escalated": Count("pk", filter=Q(escalations__gt=0)),
        "escalation_count": Coalesce(Sum("escalations"), 0),
        "reasked": Count("pk", filter=Q(reasked=True)),
        # Uncorrelated IN (...): one hashed lookup per row, not a subquery per row.
        "thumbs_down": Count("pk", filter=Q(pk__in=_rated("down"))),
        "thumbs_up": Count("pk", filter=Q(pk__in=_rated("up"))),
        "llm_asked": Count("pk", filter=Q(_llm_asked=True)),
        "llm_failed": Count("pk", filter=Q(_llm_failed=True)),
        "actual_cost_count": Count("actual_cost_usd"),
        "provider_latency_count": Count("provider_latency_ms"),
        "ttft_count": Count("ttft_ms"),
        "prompt_tokens": Coalesce(Sum("prompt_tokens"), 0),
        "completion_tokens": Coalesce(Sum("completion_tokens"), 0),
        "estimated_cost_sum": Coalesce(Sum("estimated_cost_usd"), 0.0),
        "estimated_cost_sq_sum": Coalesce(Sum(_square("estimated_cost_usd")), 0.0),
        "baseline_cost_sum": Coalesce(Sum("baseline_cost_usd"), 0.0),
        "actual_cost_sum": Coalesce(Sum("actual_cost_usd"), 0.0),
        "actual_cost_sq_sum": Coalesce(Sum(_square("actual_cost_usd")), 0.0),
        "latency_sum": Coalesce(Sum("latency_ms"), 0.0),
        "latency_sq_sum": Coalesce(Sum(_square("latency_ms")), 0.0),
        "provider_latency_sum": Coalesce(Sum("provider_latency_ms"), 0.0),
        "provider_latency_sq_sum": Coalesce(Sum(_square("provider_latency_ms")), 0.0),
        "ttft_sum": Coalesce(Sum("ttft_ms"), 0.0),
        "ttft_sq_sum": Coalesce(Sum(_square("ttft_ms")), 0.0),
    }, {
        "_llm_asked": RawSQL(llm_asked_sql, (), output_field=BooleanField()),
        "_llm_failed": RawSQL(llm_failed_sql, (), output_field=BooleanField()),
    }


def _dimensioned(router_id: int, start: datetime, end: datetime):
    return (
        DecisionLog.objects.filter(router_id=router_id, created_at__gte=start, created_at__lt=end)
        .order_by()
        .annotate(
            hour=TruncHour("created_at", tzinfo=UTC),
            intent_dim=Coalesce("intent", Value("")),
            tier_dim=Coalesce("tier", Value("")),
        )
    )


_DIM_FIELDS = {"intent": "intent_dim", "tier": "tier_dim"}


def _key(row: dict, dimensions: Iterable[str]) -> tuple:
    return tuple(row[_DIM_FIELDS.get(name, name)] for name in dimensions)


def histogram_bucket(column: str):
    """The latency histogram's bucket (analytics.dashboards.histograms) of a column, in SQL."""
    ratio = ExpressionWrapper(
        Greatest(F(column), Value(histograms.FLOOR_MS)) / Value(histograms.FLOOR_MS),
        output_field=FloatField(),
    )
    return Floor(
        ExpressionWrapper(Ln(ratio) / Value(histograms.LOG_RATIO), output_field=FloatField())
    )


def _empty_measures() -> dict:
    measures = {name: 0 for name in COUNTERS}
    measures.update({name: 0.0 for name in SUMS})
    measures.update({name: {} for name in HISTOGRAMS})
    measures["languages"] = {}
    return measures


def _add(into: dict, measures: dict) -> None:
    """Add one group's measures (counters, sums, histograms, languages) into another's."""
    for name in (*COUNTERS, *SUMS):
        into[name] += measures[name]
    for name in (*HISTOGRAMS, "languages"):
        merged = into[name]
        for key, count in measures[name].items():
            merged[key] = merged.get(key, 0) + count


# Histograms and languages come back as one JSON object per group ({bucket: count}), built by
# the database: a group's rows never reach Python one bucket at a time.
_OBJECT_AGG = {"postgresql": "jsonb_object_agg", "sqlite": "json_group_object"}
_VALUE_FIELDS = [_DIM_FIELDS.get(name, name) for name in DIMENSIONS]


def _aware(hour) -> datetime:
    if isinstance(hour, str):  # SQLite's truncation is text
        hour = datetime.fromisoformat(hour)
    return hour if hour.tzinfo else hour.replace(tzinfo=UTC)


def _objects_per_group(inner, key_sql: str) -> list[tuple[tuple, dict]]:
    """(dimension key, {key: count}) per group of `inner` (values(*_VALUE_FIELDS, key).annotate(samples))."""
    sql, params = inner.query.sql_with_params()
    columns = ", ".join(connection.ops.quote_name(name) for name in _VALUE_FIELDS)
    aggregate = _OBJECT_AGG[connection.vendor]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns}, {aggregate}({key_sql}, samples) FROM ({sql}) grouped GROUP BY {columns}",
            params,
        )
        found = []
        for *key, counts in cursor.fetchall():
            key[0] = _aware(key[0])
            found.append((tuple(key), json.loads(counts) if isinstance(counts, str) else counts))
        return found


def aggregate_range(router_id: int, start: datetime, end: datetime) -> tuple[dict, dict]:
    """{dimension key: measures} for HourlyRollup and HourlyTierRollup over [start, end)."""
    aggregates, flags = _aggregates()
    full: dict[tuple, dict] = defaultdict(_empty_measures)
    rows = _dimensioned(router_id, start, end).annotate(**flags).values(*_VALUE_FIELDS)
    # Aliased: "cached", "blocked" and "reasked" are also the columns the filters read.
    aliased = {f"agg_{name}": aggregate for name, aggregate in aggregates.items()}
    for row in rows.annotate(**aliased):
        measures = full[_key(row, DIMENSIONS)]
        for name in (*COUNTERS, *SUMS):
            measures[name] = row[f"agg_{name}"]
    for hist_name, column in HISTOGRAMS.items():
        counted = (
            _dimensioned(router_id, start, end)
            .filter(**{f"{column}__isnull": False})
            .annotate(bucket=histogram_bucket(column))
            .values(*_VALUE_FIELDS, "bucket")
            .annotate(samples=Count("pk"))
        )
        for key, histogram in _objects_per_group(
            counted,
            f"CAST(LEAST(bucket, {histograms.LAST_BUCKET}) AS INTEGER)"
            if connection.vendor == "postgresql"
            else f"CAST(MIN(bucket, {histograms.LAST_BUCKET}) AS INTEGER)",
        ):
            full[key][hist_name] = histogram
    spoken = (
        _dimensioned(router_id, start, end)
        .values(*_VALUE_FIELDS, "language")
        .annotate(samples=Count("pk"))
    )
    for key, languages in _objects_per_group(spoken, "language"):
        full[key]["languages"] = languages
    by_tier: dict[tuple, dict] = defaultdict(_empty_measures)
    positions = [DIMENSIONS.index(name) for name in TIER_DIMENSIONS]
    for key, measures in full.items():
        _add(by_tier[tuple(key[i] for i in positions)], measures)
    return full, by_tier


def _per_intent(full: dict) -> dict:
    positions = [DIMENSIONS.index(name) for name in INTENT_DIMENSIONS]
    counts: dict[tuple, int] = defaultdict(int)
    for key, measures in full.items():
        counts[tuple(key[i] for i in positions)] += measures["decisions"]
    return {key: {"decisions": n} for key, n in counts.items()}


def _ranges(hours: Iterable[datetime], *, fill_gaps: bool) -> list[tuple[datetime, datetime]]:
    """Sorted hours as [start, end) ranges of at most CHUNK_HOURS: runs of consecutive hours, or
    with `fill_gaps` any hours within CHUNK_HOURS of a range's start (the hours between them are
    rewritten too: one query for a day of sparse traffic instead of one per hour)."""
    ranges: list[tuple[datetime, datetime]] = []
    for hour in sorted(set(hours)):
        after = hour + timedelta(hours=1)
        if (
            ranges
            and (fill_gaps or ranges[-1][1] == hour)
            and after - ranges[-1][0] <= timedelta(hours=CHUNK_HOURS)
        ):
            ranges[-1] = (ranges[-1][0], after)
        else:
            ranges.append((hour, after))
    return ranges


def rollup_hours(*, router_id: int, hours: Iterable[datetime], fill_gaps: bool = False) -> int:
    """Rewrite the rollups of these hours of one router from the raw log; returns how many.

    `fill_gaps` may rewrite the hours between them too: only for hours whose raw rows are all
    still there (inside the retention window), as an hour is rewritten from its raw rows.
    """
    asked = {hour_floor(hour) for hour in hours}
    for start, end in _ranges(asked, fill_gaps=fill_gaps):
        full, by_tier = aggregate_range(router_id, start, end)
        with transaction.atomic():
            # The state row is the per-router lock: concurrent runs write one after the other.
            RollupState.objects.select_for_update().get_or_create(router_id=router_id)
            for model, table, dimensions in (
                (HourlyRollup, full, DIMENSIONS),
                (HourlyTierRollup, by_tier, TIER_DIMENSIONS),
                (HourlyIntentRollup, _per_intent(full), INTENT_DIMENSIONS),
            ):
                model.objects.filter(router_id=router_id, hour__gte=start, hour__lt=end).delete()
                model.objects.bulk_create(
                    [
                        model(
                            router_id=router_id,
                            **dict(zip(dimensions, key, strict=True)),
                            **measures,
                        )
                        for key, measures in table.items()
                    ],
                    batch_size=2000,
                )
            _days_rewrite(router_id, start, end)
    return len(asked)


MEASURES = (*COUNTERS, *SUMS, *HISTOGRAMS, "languages")


def _days_rewrite(router_id: int, start: datetime, end: datetime) -> None:
    """Rewrite the daily rows of the UTC days that [start, end) touches from their hourly rows."""
    first = day_floor(start)
    after = day_floor(end - timedelta(microseconds=1)) + timedelta(days=1)
    by_tier: dict[tuple, dict] = defaultdict(_empty_measures)
    for row in (
        HourlyTierRollup.objects.filter(router_id=router_id, hour__gte=first, hour__lt=after)
        .order_by()
        .values("hour", "tier", "channel", *MEASURES)
    ):
        _add(by_tier[(day_floor(row["hour"]), row["tier"], row["channel"])], row)
    by_intent = (
        HourlyIntentRollup.objects.filter(router_id=router_id, hour__gte=first, hour__lt=after)
        .order_by()
        .annotate(day=TruncDay("hour", tzinfo=UTC))
        .values("day", "intent", "channel")
        .annotate(n=Sum("decisions"))
    )
    for model in (DailyTierRollup, DailyIntentRollup):
        model.objects.filter(router_id=router_id, day__gte=first, day__lt=after).delete()
    DailyTierRollup.objects.bulk_create(
        [
            DailyTierRollup(router_id=router_id, day=day, tier=tier, channel=channel, **measures)
            for (day, tier, channel), measures in by_tier.items()
        ],
        batch_size=2000,
    )
    DailyIntentRollup.objects.bulk_create(
        [
            DailyIntentRollup(
                router_id=router_id,
                day=_aware(row["day"]),
                intent=row["intent"],
                channel=row["channel"],
                decisions=row["n"],
            )
            for row in by_intent
        ],
        batch_size=2000,
    )


def _hour_counts(router_id: int, *, after: datetime | None) -> tuple[dict, dict]:
    """Decisions per hour in the raw log and in the rollups: {hour: count} each."""
    raw = DecisionLog.objects.filter(router_id=router_id).order_by()
    rolled = HourlyTierRollup.objects.filter(router_id=router_id).order_by()
    if after is not None:
        raw, rolled = raw.filter(created_at__gte=after), rolled.filter(hour__gte=after)
    raw_counts = dict(
        raw.annotate(h=TruncHour("created_at", tzinfo=UTC))
        .values("h")
        .annotate(n=Count("pk"))
        .values_list("h", "n")
    )
    rolled_counts = dict(
        rolled.values("hour").annotate(n=Sum("decisions")).values_list("hour", "n")
    )
    return raw_counts, rolled_counts


def _mismatched_hours(router_id: int, *, after: datetime | None) -> set[datetime]:
    """Hours whose raw decision count differs from the rolled-up count (late rows, first run)."""
    raw_counts, rolled_counts = _hour_counts(router_id, after=after)
    return {
        hour
        for hour in raw_counts.keys() | rolled_counts.keys()
        if raw_counts.get(hour, 0) != rolled_counts.get(hour, 0)
    }


def _mismatched_days(router_id: int) -> set[datetime]:
    """Days whose daily rows do not add up to their hourly rows (the daily level's first run)."""
    hourly = dict(
        HourlyTierRollup.objects.filter(router_id=router_id)
        .order_by()
        .annotate(d=TruncDay("hour", tzinfo=UTC))
        .values("d")
        .annotate(n=Sum("decisions"))
        .values_list("d", "n")
    )
    daily = dict(
        DailyTierRollup.objects.filter(router_id=router_id)
        .order_by()
        .values("day")
        .annotate(n=Sum("decisions"))
        .values_list("day", "n")
    )
    return {
        _aware(day)
        for day in hourly.keys() | daily.keys()
        if hourly.get(day, 0) != daily.get(day, 0)
    }


def days_reconcile(*, router_id: int) -> int:
    """Rewrite the days whose daily rows disagree with their hours; returns how many."""
    days = sorted(_mismatched_days(router_id))
    for day in days:
        with transaction.atomic():
            RollupState.objects.select_for_update().get_or_create(router_id=router_id)
            _days_rewrite(router_id, day, day + timedelta(days=1))
    return len(days)


def _feedback_hours(router_id: int, *, since: datetime | None) -> set[datetime]:
    changed = Feedback.objects.all()
    if since is not None:  # a minute's margin for clocks of different servers
        changed = changed.filter(updated_at__gte=since - timedelta(minutes=1))
    return set(
        DecisionLog.objects.filter(router_id=router_id, id__in=changed.values("decision_id"))
        .order_by()
        .annotate(h=TruncHour("created_at", tzinfo=UTC))
        .values_list("h", flat=True)
        .distinct()
    )


@dataclass
class RollupReport:
    hours_rewritten: int = 0
    routers: int = 0
    by_router: dict[str, int] = field(default_factory=dict)


def rollup_run(
    *, since: datetime | None = None, now: datetime | None = None, router_ids=None
) -> RollupReport:
    """Roll every router's hours that need it (or every hour from `since`); see the module doc."""
    feedback_watermark = timezone.now()  # wall clock: feedback rows carry it, whatever `now` says
    now = now or feedback_watermark
    report = RollupReport()
    routers = Router.objects.order_by("pk")
    if router_ids is not None:
        routers = routers.filter(pk__in=router_ids)
    for router in routers:
        state, _ = RollupState.objects.get_or_create(router=router)
        cutoff = rewrite_floor(retention_cutoff(now), state.pruned_before)
        if since is not None:
            start = hour_floor(since if cutoff is None else max(since, cutoff))
            count = math.ceil((now - start) / timedelta(hours=1))
            hours = {start + timedelta(hours=i) for i in range(max(count, 1))}
        else:
            hours = _mismatched_hours(router.pk, after=cutoff)
            recent = hour_floor(now)
            hours |= {recent - timedelta(hours=i) for i in range(LOOKBACK_HOURS + 1)}
            hours |= _feedback_hours(router.pk, since=state.feedback_seen_until)
            if cutoff is not None:
                hours = {hour for hour in hours if hour >= cutoff}
        # Every hour here is inside the retention window: the gaps between them may be rewritten.
        rewritten = rollup_hours(router_id=router.pk, hours=hours, fill_gaps=True)
        days_reconcile(router_id=router.pk)
        RollupState.objects.filter(pk=state.pk).update(
            last_run_at=now, feedback_seen_until=feedback_watermark, hours_rewritten=rewritten
        )
        report.hours_rewritten += rewritten
        report.routers += 1
        report.by_router[router.slug] = rewritten
    return report


def retention_apply(*, now: datetime | None = None) -> int:
    """Delete raw decisions older than the retention window, after their hours are rolled.

    Returns the number of decisions deleted; rollups are kept.
    """
    from analytics.experiments.results import arm_totals_prune  # lazily: it imports this module

    now = now or timezone.now()
    cutoff = retention_cutoff(now)
    if cutoff is None:
        return 0
    deleted = 0
    for router_id in Router.objects.values_list("pk", flat=True):
        state, _ = RollupState.objects.get_or_create(router_id=router_id)
        floor = state.pruned_before
        raw_counts, rolled_counts = _hour_counts(router_id, after=floor)
        # Only hours that still have raw rows and were never pruned: a pruned hour keeps its
        # rollup (a row arriving for it later cannot be told from the ones deleted).
        stale = {
            hour
            for hour, count in raw_counts.items()
            if hour < cutoff and rolled_counts.get(hour, 0) != count
        }
        rollup_hours(router_id=router_id, hours=stale)
        with transaction.atomic():
            arm_totals_prune(router_id=router_id, before=cutoff)
            deleted += (
                DecisionLog.objects.filter(router_id=router_id, created_at__lt=cutoff)
                .delete()[1]
                .get(DecisionLog._meta.label, 0)
            )
        if floor is None or cutoff > floor:
            RollupState.objects.filter(pk=state.pk).update(pruned_before=cutoff)
    return deleted
