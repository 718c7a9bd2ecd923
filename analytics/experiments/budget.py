"""The daily budget judge and shadow share per router, and the judge's settings.

Spend is counted per UTC day in DailySpend; the sampling stops once the day's spend reaches the
router's `daily_budget_usd` and counts what it skipped, so the pages can say so.
"""

from __future__ import annotations

import datetime as dt
import time

from django.db.models import F
from django.utils import timezone

from analytics.experiments.models import DailySpend, JudgeSettings
from routing.runtime import runtime_cache

SETTINGS_SECONDS = 5.0  # how stale this worker's copy of a router's judge settings may be

BUDGET_SECONDS = 1.0  # how stale the request path's view of "budget left" may be

_settings = runtime_cache("judge_settings", max_entries=1024)
_budget = runtime_cache("judge_budget_left", max_entries=1024)


def today() -> dt.date:
    return timezone.now().astimezone(dt.UTC).date()


def judge_settings(router_id: int) -> JudgeSettings:
    """The router's judge settings (defaults when never saved), cached briefly per worker."""
    now = time.monotonic()
    entry = _settings.get(router_id)
    if entry is not None and now - entry[0] < SETTINGS_SECONDS:
        return entry[1]
    found = JudgeSettings.objects.filter(router_id=router_id).first() or JudgeSettings(
        router_id=router_id
    )
    _settings.set(router_id, (now, found))
    return found


def judge_settings_save(*, router_id: int, **values) -> JudgeSettings:
    saved, _ = JudgeSettings.objects.update_or_create(router_id=router_id, defaults=values)
    _settings.pop(router_id)
    _budget.pop(router_id)
    return saved


def spend_today(router_id: int) -> DailySpend:
    return DailySpend.objects.filter(router_id=router_id, day=today()).first() or DailySpend(
        router_id=router_id, day=today()
    )


def budget_left(router_id: int) -> bool:
    """True while today's judge + shadow spend is below the router's daily budget."""
    spend = spend_today(router_id)
    return spend.judge_usd + spend.shadow_usd < judge_settings(router_id).daily_budget_usd


def budget_left_now(router_id: int) -> bool:
    """`budget_left`, re-read at most every BUDGET_SECONDS per worker (for the request path)."""
    now = time.monotonic()
    entry = _budget.get(router_id)
    if entry is None or now - entry[0] >= BUDGET_SECONDS:
        entry = (now, budget_left(router_id))
        _budget.set(router_id, entry)
    return entry[1]


def spend_add(
    *,
    router_id: int,
    judge_usd: float = 0.0,
    shadow_usd: float = 0.0,
    judge_calls: int = 0,
    skipped: int = 0,
) -> None:
    """Add to today's counters (one upsert and one atomic update: safe across workers)."""
    DailySpend.objects.get_or_create(router_id=router_id, day=today())
    DailySpend.objects.filter(router_id=router_id, day=today()).update(
        judge_usd=F("judge_usd") + judge_usd,
        shadow_usd=F("shadow_usd") + shadow_usd,
        judge_calls=F("judge_calls") + judge_calls,
        skipped_over_budget=F("skipped_over_budget") + skipped,
    )
