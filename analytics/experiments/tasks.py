from celery import shared_task

from analytics.experiments.judge import judge_verdict_execute


@shared_task(acks_late=True)
def judge_verdict_task(verdict_id: int) -> str:
    """Answer a sampled query with the strongest tier and judge the pair (a no-op unless queued)."""
    verdict = judge_verdict_execute(verdict_id=verdict_id)
    return verdict.state if verdict else "missing"
