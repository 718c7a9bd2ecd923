"""Rollups agree with aggregates of the raw log, re-runs change nothing, late rows are counted."""

from __future__ import annotations

import math
from collections import Counter
from datetime import timedelta

import numpy as np
import pytest

from analytics.dashboards import histograms
from analytics.dashboards.models import (
    DailyIntentRollup,
    DailyTierRollup,
    HourlyIntentRollup,
    HourlyRollup,
    HourlyTierRollup,
)
from analytics.dashboards.rollups import (
    COUNTERS,
    day_floor,
    days_reconcile,
    hour_floor,
    retention_apply,
    rollup_run,
)
from analytics.decision_log import decision_rows_write
from analytics.models import DecisionLog, Feedback
from tests.dashboards.conftest import NOW, decision_row

pytestmark = pytest.mark.django_db


def _rollup_totals(model, **filters) -> dict:
    totals = Counter()
    for row in model.objects.filter(**filters):
        for name in COUNTERS:
            totals[name] += getattr(row, name)
        for name in (
            "estimated_cost_sum",
            "baseline_cost_sum",
            "actual_cost_sum",
            "latency_sum",
            "latency_sq_sum",
        ):
            totals[name] += getattr(row, name)
    return totals


def _raw_totals(rows) -> dict:
    down = set(Feedback.objects.filter(rating="down").values_list("decision_id", flat=True))
    up = set(Feedback.objects.filter(rating="up").values_list("decision_id", flat=True))

    def llm(row):
        return [s for s in row.trace["stages"] if s["stage"] == "llm"]

    return {
        "decisions": len(rows),
        "cached": sum(r.cached for r in rows),
        "blocked": sum(r.blocked for r in rows),
        "out_of_scope": sum(r.intent is None and not r.blocked for r in rows),
        "escalated": sum(r.escalations > 0 for r in rows),
        "escalation_count": sum(r.escalations for r in rows),
        "reasked": sum(r.reasked for r in rows),
        "thumbs_down": sum(r.id in down for r in rows),
        "thumbs_up": sum(r.id in up for r in rows),
        "llm_asked": sum(bool(llm(r)) for r in rows),
        "llm_failed": sum(any(not s["outcome"].startswith("chose ") for s in llm(r)) for r in rows),
        "actual_cost_count": sum(r.actual_cost_usd is not None for r in rows),
        "provider_latency_count": sum(r.provider_latency_ms is not None for r in rows),
        "ttft_count": sum(r.ttft_ms is not None for r in rows),
        "prompt_tokens": sum(r.prompt_tokens or 0 for r in rows),
        "completion_tokens": sum(r.completion_tokens or 0 for r in rows),
        "estimated_cost_sum": sum(r.estimated_cost_usd for r in rows),
        "baseline_cost_sum": sum(r.baseline_cost_usd for r in rows),
        "actual_cost_sum": sum(r.actual_cost_usd or 0 for r in rows),
        "latency_sum": sum(r.latency_ms for r in rows),
        "latency_sq_sum": sum(r.latency_ms**2 for r in rows),
    }


def _assert_totals_match(rolled: dict, raw: dict) -> None:
    for name, expected in raw.items():
        if isinstance(expected, float):
            assert math.isclose(rolled[name], expected, rel_tol=1e-9), name
        else:
            assert rolled[name] == expected, name


def test_rollup_matches_the_raw_log_in_both_tables(demo_router, traffic):
    report = rollup_run(now=NOW)
    lookback = {hour_floor(NOW) - timedelta(hours=i) for i in range(3)}
    assert report.hours_rewritten == len({hour_floor(r.created_at) for r in traffic} | lookback)
    raw = _raw_totals(traffic)
    assert raw["thumbs_down"] > 0 and raw["llm_failed"] > 0 and raw["escalated"] > 0
    _assert_totals_match(_rollup_totals(HourlyRollup, router=demo_router), raw)
    _assert_totals_match(_rollup_totals(HourlyTierRollup, router=demo_router), raw)


def test_rollup_groups_by_every_dimension(demo_router, traffic):
    rollup_run(now=NOW)
    expected = Counter(
        (
            hour_floor(r.created_at),
            r.intent or "",
            r.tier or "",
            r.stage,
            r.channel,
            r.experiment_id,
            r.experiment_arm,
        )
        for r in traffic
    )
    rolled = {
        (
            row.hour,
            row.intent,
            row.tier,
            row.stage,
            row.channel,
            row.experiment_id,
            row.experiment_arm,
        ): row.decisions
        for row in HourlyRollup.objects.filter(router=demo_router)
    }
    assert rolled == dict(expected)
    by_tier = Counter((hour_floor(r.created_at), r.tier, r.channel) for r in traffic)
    assert {
        (row.hour, row.tier, row.channel): row.decisions
        for row in HourlyTierRollup.objects.filter(router=demo_router)
    } == dict(by_tier)
    languages = Counter(r.language for r in traffic)
    merged = Counter()
    for row in HourlyTierRollup.objects.filter(router=demo_router):
        merged.update(row.languages)
    assert merged == languages


def test_a_second_run_rewrites_the_same_rows(demo_router, traffic):
    rollup_run(now=NOW)
    first = sorted(
        HourlyRollup.objects.filter(router=demo_router).values_list(
            "hour",
            "intent",
            "tier",
            "stage",
            "channel",
            "experiment_arm",
            "decisions",
            "latency_hist",
            "thumbs_down",
        ),
        key=repr,
    )
    rollup_run(now=NOW)
    rollup_run(since=NOW - timedelta(days=5), now=NOW)
    again = sorted(
        HourlyRollup.objects.filter(router=demo_router).values_list(
            "hour",
            "intent",
            "tier",
            "stage",
            "channel",
            "experiment_arm",
            "decisions",
            "latency_hist",
            "thumbs_down",
        ),
        key=repr,
    )
    assert again == first


def test_a_late_row_is_counted_in_its_own_hour(demo_router, traffic):
    rollup_run(now=NOW)
    old_hour = hour_floor(NOW - timedelta(days=2))
    before = sum(
        r.decisions for r in HourlyTierRollup.objects.filter(router=demo_router, hour=old_hour)
    )
    # Flushed two days after its hour (a worker's buffer held it while the database was down).
    decision_rows_write([decision_row(demo_router, old_hour + timedelta(minutes=10))])
    rollup_run(now=NOW + timedelta(minutes=5))
    after = sum(
        r.decisions for r in HourlyTierRollup.objects.filter(router=demo_router, hour=old_hour)
    )
    assert after == before + 1


def test_late_feedback_rerolls_its_decisions_hour(demo_router, traffic):
    rollup_run(now=NOW)
    unrated = next(r for r in traffic if not Feedback.objects.filter(decision_id=r.id).exists())
    Feedback.objects.create(decision_id=unrated.id, rating="down")
    hour = hour_floor(unrated.created_at)
    before = sum(
        r.thumbs_down for r in HourlyTierRollup.objects.filter(router=demo_router, hour=hour)
    )
    rollup_run(now=NOW + timedelta(days=1))
    after = sum(
        r.thumbs_down for r in HourlyTierRollup.objects.filter(router=demo_router, hour=hour)
    )
    assert after == before + 1


def test_percentiles_from_the_histogram_are_within_the_stated_error(demo_router, traffic):
    rollup_run(now=NOW)
    merged = histograms.histogram_merge(
        HourlyTierRollup.objects.filter(router=demo_router).values_list("latency_hist", flat=True)
    )
    values = np.array([r.latency_ms for r in traffic])
    for q in (50, 95, 99):
        exact = float(np.percentile(values, q, method="inverted_cdf"))
        estimate = histograms.percentile(merged, q)
        assert abs(estimate - exact) / exact <= histograms.RELATIVE_ERROR, q
    provider = histograms.histogram_merge(
        HourlyRollup.objects.filter(router=demo_router).values_list(
            "provider_latency_hist", flat=True
        )
    )
    exact = float(
        np.percentile(
            [r.provider_latency_ms for r in traffic if r.provider_latency_ms],
            95,
            method="inverted_cdf",
        )
    )
    assert abs(histograms.percentile(provider, 95) - exact) / exact <= histograms.RELATIVE_ERROR


def test_retention_deletes_old_raw_rows_and_keeps_their_rollups(demo_router, traffic, settings):
    settings.SEMROUTE_DECISION_RETENTION_DAYS = 1
    total = len(traffic)
    old = [r for r in traffic if r.created_at < hour_floor(NOW - timedelta(days=1))]
    deleted = retention_apply(now=NOW)  # rolls the old hours first: nothing was rolled yet
    assert deleted == len(old)
    assert DecisionLog.objects.filter(router=demo_router).count() == total - len(old)
    rollup_run(now=NOW)
    assert (
        sum(HourlyTierRollup.objects.filter(router=demo_router).values_list("decisions", flat=True))
        == total
    )


def test_raising_the_retention_after_pruning_keeps_the_pruned_hours_rollups(
    demo_router, traffic, settings
):
    settings.SEMROUTE_DECISION_RETENTION_DAYS = 1
    total = len(traffic)
    rollup_run(now=NOW)
    assert retention_apply(now=NOW) > 0
    rolled = _rollup_totals(HourlyTierRollup, router=demo_router)

    settings.SEMROUTE_DECISION_RETENTION_DAYS = 90  # the pruned hours have no raw rows now
    rollup_run(now=NOW)
    rollup_run(since=NOW - timedelta(days=30), now=NOW)
    assert retention_apply(now=NOW) == 0

    assert _rollup_totals(HourlyTierRollup, router=demo_router) == pytest.approx(rolled)
    assert rolled["decisions"] == total
    _assert_days_match_hours(demo_router)


def _daily_from_hourly(router) -> dict:
    """What the daily rows must be: the hourly tier rows summed per UTC day, tier and channel."""
    expected: dict[tuple, Counter] = {}
    for row in HourlyTierRollup.objects.filter(router=router):
        totals = expected.setdefault((day_floor(row.hour), row.tier, row.channel), Counter())
        totals["decisions"] += row.decisions
        totals["thumbs_down"] += row.thumbs_down
        totals["estimated_cost_sum"] += row.estimated_cost_sum
        for bucket, count in row.latency_hist.items():
            totals[f"latency {bucket}"] += count
        for language, count in row.languages.items():
            totals[f"language {language}"] += count
    return expected


def _daily_rows(router) -> dict:
    found = {}
    for row in DailyTierRollup.objects.filter(router=router):
        totals = Counter(
            decisions=row.decisions,
            thumbs_down=row.thumbs_down,
            estimated_cost_sum=row.estimated_cost_sum,
        )
        totals.update({f"latency {bucket}": count for bucket, count in row.latency_hist.items()})
        totals.update({f"language {lang}": count for lang, count in row.languages.items()})
        found[(row.day, row.tier, row.channel)] = +totals
    return found


def _assert_days_match_hours(router) -> None:
    expected = _daily_from_hourly(router)
    found = _daily_rows(router)
    assert found.keys() == expected.keys()
    for key, totals in expected.items():
        assert found[key].keys() == (+totals).keys(), key
        for name, value in totals.items():
            assert math.isclose(found[key][name], value, rel_tol=1e-9), (key, name)
    intents = Counter()
    for row in HourlyIntentRollup.objects.filter(router=router):
        intents[(day_floor(row.hour), row.intent, row.channel)] += row.decisions
    assert {
        (row.day, row.intent, row.channel): row.decisions
        for row in DailyIntentRollup.objects.filter(router=router)
    } == dict(intents)


def test_daily_rows_are_the_sum_of_their_hours(demo_router, traffic):
    rollup_run(now=NOW)
    assert DailyTierRollup.objects.filter(router=demo_router).count() > 0
    _assert_days_match_hours(demo_router)
    raw_days = Counter(day_floor(r.created_at) for r in traffic)
    rolled_days = Counter()
    for row in DailyTierRollup.objects.filter(router=demo_router):
        rolled_days[row.day] += row.decisions
    assert rolled_days == raw_days


def test_daily_rows_follow_late_rows_and_reruns(demo_router, traffic):
    rollup_run(now=NOW)
    first = sorted(
        DailyTierRollup.objects.filter(router=demo_router).values_list(
            "day", "tier", "channel", "decisions", "latency_hist"
        ),
        key=repr,
    )
    rollup_run(now=NOW)
    rollup_run(since=NOW - timedelta(days=5), now=NOW)
    again = sorted(
        DailyTierRollup.objects.filter(router=demo_router).values_list(
            "day", "tier", "channel", "decisions", "latency_hist"
        ),
        key=repr,
    )
    assert again == first
    old_hour = hour_floor(NOW - timedelta(days=2))
    before = sum(
        DailyTierRollup.objects.filter(router=demo_router, day=day_floor(old_hour)).values_list(
            "decisions", flat=True
        )
    )
    decision_rows_write([decision_row(demo_router, old_hour + timedelta(minutes=10))])
    rollup_run(now=NOW + timedelta(minutes=5))
    after = sum(
        DailyTierRollup.objects.filter(router=demo_router, day=day_floor(old_hour)).values_list(
            "decisions", flat=True
        )
    )
    assert after == before + 1
    _assert_days_match_hours(demo_router)


def test_missing_daily_rows_are_filled_from_the_hourly_ones(demo_router, traffic):
    """The daily level's first run (after its migration) needs no raw rows, only the hours."""
    rollup_run(now=NOW)
    expected = _daily_rows(demo_router)
    DailyTierRollup.objects.all().delete()
    DailyIntentRollup.objects.all().delete()
    DecisionLog.objects.all().delete()  # raw rows gone (retention): their hours stay rolled up
    assert days_reconcile(router_id=demo_router.pk) == len({key[0] for key in expected})
    assert _daily_rows(demo_router) == expected
    assert days_reconcile(router_id=demo_router.pk) == 0


def test_tables_per_day_read_days_and_edge_hours_like_the_hours_alone(demo_router, traffic):
    """A span per day reads whole days from the daily rows and its edges from hourly rows; the
    same span per hour reads hourly rows only: every table that does not depend on the bucket
    is the same, and the per-day counts are the raw log's."""
    from analytics.dashboards import reports
    from analytics.dashboards.timespan import span_from

    rollup_run(now=NOW)
    per_day, _ = span_from({"range": "7d", "bucket": "day"}, now=NOW)
    per_hour, _ = span_from({"range": "7d", "bucket": "hour"}, now=NOW)
    assert per_day.start.hour != 0  # edge hours on both sides
    for tables in (reports.cost_tables, reports.latency_tables, reports.quality_tables):
        by_day = {table.key: table.rows for table in tables(demo_router, per_day)}
        by_hour = {table.key: table.rows for table in tables(demo_router, per_hour)}
        for key in ("cost_tier", "latency_tier", "quality_tier", "quality_overall"):
            if key in by_day:
                assert by_day[key] == by_hour[key], key
    traffic_rows = reports.traffic_tables(demo_router, per_day)[0].rows
    counted = Counter()
    for time, _, decisions, _ in traffic_rows:
        counted[time] += decisions
    expected = Counter(
        f"{r.created_at:%Y-%m-%d}"
        for r in traffic
        if r.channel not in ("playground", "console") and r.created_at >= per_day.start
    )
    assert counted == expected


def test_sparse_hours_are_rolled_a_day_at_a_time_and_gaps_only_when_allowed():
    from analytics.dashboards.rollups import _ranges

    start = hour_floor(NOW)
    hours = [start, start + timedelta(hours=5), start + timedelta(hours=30)]
    hour = timedelta(hours=1)
    assert _ranges(hours, fill_gaps=True) == [
        (start, start + 6 * hour),
        (start + 30 * hour, start + 31 * hour),
    ]
    assert _ranges(hours, fill_gaps=False) == [(h, h + hour) for h in hours]
    consecutive = [start + i * hour for i in range(30)]
    assert _ranges(consecutive, fill_gaps=False) == [
        (start, start + 24 * hour),
        (start + 24 * hour, start + 30 * hour),
    ]


def test_rolling_sparse_traffic_with_gaps_filled_matches_the_raw_log(demo_router, settings):
    """Twenty days of sparse traffic (most hours empty) rolled with the gaps rewritten too."""
    from tests.dashboards.conftest import generated_traffic

    settings.SEMROUTE_DECISION_RETENTION_DAYS = 0
    rows = generated_traffic(demo_router, count=150, days=20)
    report = rollup_run(now=NOW)
    lookback = {hour_floor(NOW) - timedelta(hours=i) for i in range(3)}
    assert report.hours_rewritten == len({hour_floor(r.created_at) for r in rows} | lookback)
    _assert_totals_match(_rollup_totals(HourlyTierRollup, router=demo_router), _raw_totals(rows))
    _assert_days_match_hours(demo_router)
