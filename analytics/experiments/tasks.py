import uuid

from celery import shared_task

from analytics.experiments.judge import judge_sample_queue, judge_verdict_execute


@shared_task(acks_late=True)
def judge_verdict_task(verdict_id: int) -> str:
    """Answer a sampled query with the strongest tier and judge the pair (a no-op unless queued).
    Verdict rows queued before judge_sample_task existed are still sent here by the broker."""
    verdict = judge_verdict_execute(verdict_id=verdict_id)
    return verdict.state if verdict else "missing"


@shared_task(acks_late=True)
def judge_sample_task(
    router_id: int,
    decision_id: str,
    intent: str | None,
    messages: list,
    answer: str,
    tier_name: str,
) -> str:
    """A gateway answer the judge sampled: its verdict row (within the day's budget), then the
    verdict. Queued after the answer, so the request never waits on the judge's database work."""
    verdict = judge_sample_queue(
        router_id=router_id,
        decision_id=uuid.UUID(decision_id),
        intent=intent,
        messages=messages,
        answer=answer,
        tier_name=tier_name,
    )
    if verdict is None:
        return "skipped"
    done = judge_verdict_execute(verdict_id=verdict.pk)
    return done.state if done else "missing"
