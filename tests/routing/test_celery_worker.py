"""A real Celery worker on the real Redis broker computes example vectors (runs in CI)."""

import time

import pytest
from celery.contrib.testing.worker import start_worker

from routing.engine import LOCAL_FAST_ENCODER_NAME
from routing.models import Example
from routing.services.examples import examples_add_bulk
from routing.services.versioning import router_create
from semroute_site.celery import app

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_worker_on_redis_computes_vectors_for_new_examples(operator):
    assert app.conf.task_always_eager is False
    assert app.conf.broker_url.startswith("redis://")
    router = router_create(slug="worker-check", name="Worker check", user=operator)
    intent = router.intents.create(name="greeting", handler="chat.greeting")
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
        # The service enqueues the task after commit; the worker thread picks it up from Redis.
        examples_add_bulk(
            intent=intent,
            texts=["hello there", "good morning to you", "hey, how are you"],
            user=operator,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if (
                not Example.objects.filter(intent=intent)
                .needing_vectors(LOCAL_FAST_ENCODER_NAME)
                .exists()
            ):
                break
            time.sleep(0.2)
    examples = list(Example.objects.filter(intent=intent))
    assert len(examples) == 3
    assert all(
        e.encoder == LOCAL_FAST_ENCODER_NAME and len(bytes(e.vector)) == 384 * 4 for e in examples
    )
