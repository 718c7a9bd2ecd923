from celery import shared_task

from routing.services import example_vectors_compute


@shared_task(acks_late=True)
def example_vectors_compute_task(router_id: int) -> int:
    """Compute missing or stale example vectors of one router (idempotent)."""
    return example_vectors_compute(router_id=router_id)
