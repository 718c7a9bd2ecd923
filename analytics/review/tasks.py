from celery import shared_task

from analytics.models import CONSOLE_CHANNELS, DecisionLog


@shared_task(acks_late=True)
def review_intake_task(decision_ids: list[str]) -> int:
    """Re-ask detection, then the review queue's intake, for written decisions (idempotent)."""
    from analytics.review.intake import review_intake
    from analytics.services import decisions_reask_detect

    rows = list(DecisionLog.objects.filter(pk__in=decision_ids))
    reasked = decisions_reask_detect(rows=rows)
    return review_intake(decision_ids=[*decision_ids, *map(str, reasked)])


def decisions_written(rows: list[DecisionLog]) -> None:
    """The decision log's after-write hook: one task per written batch of traffic."""
    ids = [str(row.id) for row in rows if row.channel not in CONSOLE_CHANNELS]
    if ids:
        review_intake_task.delay(ids)
