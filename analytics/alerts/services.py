"""Alerts: evaluated on the rollups after each rollup run; opened, kept and resolved idempotently.

What fires (per router, with its AlertSettings or the defaults):
- escalation_rise: a tier's escalation rate (of gateway decisions) this week is more than
  `escalation_rise_points` percentage points above the previous week's;
- thumbs_down: this week's thumbs-down share of rated decisions is over `thumbs_down_bar`;
- drift: the intent or tier distribution's Jensen-Shannon divergence, this week against the
  previous four weeks, is over `drift_threshold`;
- budget: the month's spend (actual where the gateway answered, else estimated) is over
  `monthly_budget_usd`;
- dead_letters (installation-wide): decisions went to the decision log's dead-letter.
A rate needs MIN_SAMPLES in each week it compares: a handful of decisions never alerts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from analytics.alerts import webhooks
from analytics.alerts.models import Alert, AlertKind, AlertSettings
from analytics.dashboards.drift import drift_of
from analytics.dashboards.models import HourlyTierRollup
from analytics.dashboards.reports import month_to_date
from analytics.dashboards.rollups import hour_floor
from routing.models import Router

MIN_SAMPLES = 30
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Finding:
    kind: str
    subject: str
    value: float
    threshold: float
    message: str


@dataclass
class Evaluation:
    open: int = 0
    opened: int = 0
    resolved: int = 0


def _week_sums(router, start: datetime, end: datetime, **filters) -> dict[str, dict]:
    rows = HourlyTierRollup.objects.filter(router=router, hour__gte=start, hour__lt=end, **filters)
    return {
        row["tier"]: row
        for row in rows.traffic()
        .values("tier")
        .annotate(
            n=Sum("decisions"), esc=Sum("escalated"), down=Sum("thumbs_down"), up=Sum("thumbs_up")
        )
    }


def router_findings(router: Router, rules: AlertSettings, now: datetime) -> list[Finding]:
    end = hour_floor(now) + timedelta(hours=1)
    findings = []
    this_week = _week_sums(router, end - WEEK, end, channel="gateway")
    last_week = _week_sums(router, end - 2 * WEEK, end - WEEK, channel="gateway")
    for tier, row in sorted(this_week.items()):
        before = last_week.get(tier)
        if row["n"] < MIN_SAMPLES or before is None or before["n"] < MIN_SAMPLES:
            continue
        rise = 100 * (row["esc"] / row["n"] - before["esc"] / before["n"])
        if rise > rules.escalation_rise_points:
            findings.append(
                Finding(
                    AlertKind.ESCALATION_RISE,
                    tier or "(none)",
                    round(rise, 3),
                    rules.escalation_rise_points,
                    f"Tier {tier}: escalation rate {100 * row['esc'] / row['n']:.1f}% this week "
                    f"({row['esc']} of {row['n']}) against {100 * before['esc'] / before['n']:.1f}% "
                    f"the week before ({before['esc']} of {before['n']}): up {rise:.1f} points.",
                )
            )
    rated = _week_sums(router, end - WEEK, end).values()
    down, up = sum(r["down"] for r in rated), sum(r["up"] for r in rated)
    if down + up >= MIN_SAMPLES and down / (down + up) > rules.thumbs_down_bar:
        share = down / (down + up)
        findings.append(
            Finding(
                AlertKind.THUMBS_DOWN,
                "",
                round(share, 4),
                rules.thumbs_down_bar,
                f"{100 * share:.1f}% of rated decisions this week were thumbs-down ({down} of "
                f"{down + up}); the bar is {100 * rules.thumbs_down_bar:.1f}%.",
            )
        )
    for drift in drift_of(router, now):
        if (
            drift.divergence is not None
            and min(sum(drift.this_week.values()), sum(drift.previous.values())) >= MIN_SAMPLES
            and drift.divergence > rules.drift_threshold
        ):
            findings.append(
                Finding(
                    AlertKind.DRIFT,
                    drift.dimension,
                    round(drift.divergence, 4),
                    rules.drift_threshold,
                    f"The {drift.dimension} distribution moved: divergence {drift.divergence:.3f} "
                    f"this week against the previous four weeks (bar {rules.drift_threshold:.3f}).",
                )
            )
    if rules.monthly_budget_usd:
        month = month_to_date(router, now)
        spent = month.actual_usd if month.actual_usd is not None else month.estimated_usd
        if spent > rules.monthly_budget_usd:
            findings.append(
                Finding(
                    AlertKind.BUDGET,
                    "",
                    round(spent, 4),
                    rules.monthly_budget_usd,
                    f"{month.month}: ${spent:.2f} spent "
                    f"({'actual' if month.actual_usd is not None else 'estimated'}), over the "
                    f"${rules.monthly_budget_usd:.2f} budget; projected ${month.projected_usd:.2f}.",
                )
            )
    return findings


def dead_letter_findings() -> list[Finding]:
    from analytics.metrics import dead_letters_total

    count = dead_letters_total()
    if count <= 0:
        return []
    return [
        Finding(
            AlertKind.DEAD_LETTERS,
            "",
            count,
            0,
            f"{count} decision(s) could not be stored and went to the dead-letter; the ERROR log "
            "of each web worker names their decision ids and the reason.",
        )
    ]


def _sync(
    router: Router | None, findings: list[Finding], now: datetime, result: Evaluation
) -> None:
    """Open what fires and is not open yet, refresh what stays, resolve what stopped firing."""
    rules = getattr(router, "alert_settings", None) if router is not None else None
    url = rules.webhook_url if rules else ""
    with transaction.atomic():
        current = {
            (alert.kind, alert.subject): alert
            for alert in Alert.objects.open().select_for_update().filter(router=router)
        }
        for finding in findings:
            alert = current.pop((finding.kind, finding.subject), None)
            if alert is not None:
                alert.value, alert.threshold, alert.message = (
                    finding.value,
                    finding.threshold,
                    finding.message,
                )
                alert.last_seen_at = now
                alert.save(update_fields=["value", "threshold", "message", "last_seen_at"])
                continue
            alert = Alert.objects.create(
                router=router,
                kind=finding.kind,
                subject=finding.subject,
                value=finding.value,
                threshold=finding.threshold,
                message=finding.message,
                opened_at=now,
                last_seen_at=now,
            )
            result.opened += 1
            if url:
                webhooks.delivery_enqueue(alert=alert, event="opened", url=url, now=now)
        for alert in current.values():
            alert.resolved_at = now
            alert.save(update_fields=["resolved_at"])
            result.resolved += 1
            if url:
                webhooks.delivery_enqueue(alert=alert, event="resolved", url=url, now=now)


def alerts_evaluate(*, now: datetime | None = None) -> Evaluation:
    now = now or timezone.now()
    result = Evaluation()
    for router in Router.objects.select_related("alert_settings").order_by("pk"):
        rules = getattr(router, "alert_settings", None) or AlertSettings(router=router)
        _sync(router, router_findings(router, rules, now), now, result)
    _sync(None, dead_letter_findings(), now, result)
    result.open = Alert.objects.open().count()
    return result
