from celery import shared_task

from analytics.outcomes.services import quality_training_execute


@shared_task(acks_late=True)
def quality_training_task(training_id: int) -> str:
    """Fit the quality predictor for one training row (a no-op unless it is still queued)."""
    training = quality_training_execute(training_id=training_id)
    return training.state if training else "missing"
