from celery import shared_task
from django.conf import settings

from analytics.models import CONSOLE_CHANNELS, DecisionLog
from analytics.review.intake import decision_reasons, rows_intake
from routing.models import Router


@shared_task(acks_late=True)
def review_intake_task(decision_ids: list[str]) -> int:
    """Re-ask detection, then the review queue's intake, for written decisions (idempotent)."""
    from analytics.services import decisions_reask_detect

    rows = list(DecisionLog.objects.filter(pk__in=decision_ids))
    reasked = set(decisions_reask_detect(rows=rows))
    for row in rows:
        row.reasked = row.reasked or row.id in reasked
    earlier = reasked - {row.id for row in rows}  # asked before this batch, re-asked in it
    return rows_intake([*rows, *DecisionLog.objects.filter(pk__in=earlier)])


def decisions_written(rows: list[DecisionLog]) -> None:
    """The decision log's after-write hook: one task per written batch, for the traffic that may
    need a look (a session, where a re-ask can show, or a reason to queue it). The rest, most
    traffic, costs the hook one query per batch and the task nothing."""
    traffic = [row for row in rows if row.channel not in CONSOLE_CHANNELS]
    if not traffic:
        return
    bands = {
        pk: (low, high)
        for pk, low, high in Router.objects.filter(
            pk__in={row.router_id for row in traffic}
        ).values_list("pk", "ambiguity_low", "ambiguity_high")
    }
    margin = settings.SEMROUTE_REVIEW_CONFIDENCE_MARGIN
    rate = settings.SEMROUTE_REVIEW_SAMPLE_RATE
    ids = [
        str(row.id)
        for row in traffic
        if row.router_id in bands
        and (
            row.session_ref
            or decision_reasons(row, band=bands[row.router_id], margin=margin, sample_rate=rate)
        )
    ]
    if ids:
        review_intake_task.delay(ids)
