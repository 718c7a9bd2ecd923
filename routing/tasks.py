from celery import shared_task
from django.db import transaction

from routing.vectors import example_vectors_compute


@shared_task(acks_late=True)
def example_vectors_compute_task(router_id: int) -> int:
    """Compute missing or stale example vectors of one router (idempotent)."""
    return example_vectors_compute(router_id=router_id)


def example_vectors_enqueue(router_id: int) -> None:
    """Compute the router's vectors after the current transaction commits."""
    transaction.on_commit(lambda: example_vectors_compute_task.delay(router_id))
