from celery import shared_task

from analytics.evaluations.services import evaluation_run_execute


@shared_task(acks_late=True)
def evaluation_run_task(run_id: int) -> str:
    """Route and score one evaluation run (a no-op unless it is still queued)."""
    run = evaluation_run_execute(run_id=run_id)
    return run.state if run else "missing"
