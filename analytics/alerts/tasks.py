from celery import shared_task

from analytics.alerts.webhooks import deliveries_due, delivery_attempt


@shared_task(name="analytics.alerts.tasks.webhook_deliver_task", acks_late=True)
def webhook_deliver_task(delivery_id: int) -> str:
    delivery = delivery_attempt(delivery_id)
    return delivery.state if delivery else "missing"


@shared_task(name="analytics.alerts.tasks.webhook_retry_task", acks_late=True)
def webhook_retry_task() -> int:
    """Retry the deliveries whose backoff has passed (Celery beat, every minute)."""
    return deliveries_due()
