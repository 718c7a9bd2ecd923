"""Runs as the Celery task: cancel between batches; a real worker on Redis (CI, marked services)."""

from __future__ import annotations

import time

import pytest

from analytics.evaluations import services
from analytics.evaluations.models import EvaluationRun, RunState
from analytics.evaluations.services import (
    evaluation_run_cancel,
    evaluation_run_create,
    evaluation_run_execute,
)
from tests.evaluations.conftest import DEMO_LABELLED


def test_cancel_is_seen_between_batches(demo_set, monkeypatch):
    monkeypatch.setattr(services, "BATCH_SIZE", 2)
    run = evaluation_run_create(labelled_set=demo_set, enqueue=False)
    real = services.version_router
    calls = []

    def cancelling_router(router, number):
        compiled = real(router, number)
        route_batch = compiled.route_batch

        def route_and_cancel(*args, **kwargs):
            calls.append(1)
            if len(calls) == 2:  # an operator cancels while the second batch is routed
                evaluation_run_cancel(run=EvaluationRun.objects.get(pk=run.pk))
            return route_batch(*args, **kwargs)

        monkeypatch.setattr(compiled, "route_batch", route_and_cancel)
        return compiled

    monkeypatch.setattr(services, "version_router", cancelling_router)
    evaluation_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.state == RunState.CANCELLED
    assert run.done == 2 and len(calls) == 2  # the third batch never ran
    assert run.metrics == {}


def test_a_failing_run_records_why(demo_set, monkeypatch):
    def broken(router, number):
        raise RuntimeError("encoder exploded")

    monkeypatch.setattr(services, "version_router", broken)
    run = evaluation_run_create(labelled_set=demo_set, enqueue=False)
    evaluation_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.state == RunState.FAILED and "encoder exploded" in run.error and run.finished_at


def test_running_the_task_twice_is_harmless(demo_set):
    run = evaluation_run_create(labelled_set=demo_set, enqueue=False)
    evaluation_run_execute(run_id=run.pk)
    first = EvaluationRun.objects.get(pk=run.pk)
    evaluation_run_execute(run_id=run.pk)
    again = EvaluationRun.objects.get(pk=run.pk)
    assert again.state == RunState.DONE and again.finished_at == first.finished_at
    assert again.results.count() == len(DEMO_LABELLED)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_evaluation_posted_to_the_api(demo_router, client_for):
    from celery.contrib.testing.worker import start_worker

    from semroute_site.celery import app

    assert app.conf.task_always_eager is False
    client = client_for(scopes=["evaluate"])
    examples = [{"text": text, "intent": intent} for text, intent in DEMO_LABELLED]
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
        response = client.post("routers/support/evaluations", {"examples": examples})
        assert response.status_code == 202 and response.json()["status"] in ("queued", "running")
        run_id = response.json()["id"]
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            body = client.get(f"evaluations/{run_id}").json()
            if body["status"] not in ("queued", "running"):
                break
            time.sleep(0.2)
    assert body["status"] == "done", body
    assert body["progress"] == {"done": len(DEMO_LABELLED), "total": len(DEMO_LABELLED)}
    assert body["metrics"]["in_scope_accuracy"] == 1.0
