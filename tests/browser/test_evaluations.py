"""In Chromium: the run page polls its progress every second, reloads itself with the results
when the run finishes, and the suggestion is applied as a new version."""

from __future__ import annotations

import pytest

from analytics.evaluations.services import (
    evaluation_run_create,
    evaluation_run_execute,
    labelled_set_from_examples,
)
from routing.models import Router
from tests.evaluations.conftest import DEMO_LABELLED

pytestmark = pytest.mark.browser


def test_progress_polls_then_results_replace_it(
    transactional_db,
    live_server,
    page,
    operator,
    demo_router,
):
    demo_set = labelled_set_from_examples(router=demo_router, examples=DEMO_LABELLED, name="demo")
    run = evaluation_run_create(labelled_set=demo_set, enqueue=False)  # queued: no worker yet
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "olivia")
    page.fill("input[name=password]", "pw-olivia")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/r/support/evaluations/runs/{run.pk}/")
    assert page.locator("#run-state").inner_text() == "queued"
    assert page.locator("#progress[hx-trigger='every 1s']").count() == 1
    with page.expect_request(lambda request: "poll=1" in request.url):
        pass  # htmx asks again within a second
    evaluation_run_execute(run_id=run.pk)
    page.wait_for_selector("#metric-in_scope_accuracy")  # the poll saw "done" and reloaded
    assert page.locator("#run-state").inner_text() == "done"
    assert page.locator("#progress[hx-trigger]").count() == 0
    # Threshold curve and reliability; every query was right, so no (empty) confusion heatmap.
    assert page.locator(".js-plotly-plot").count() == 2
    assert page.locator("#confused-pairs").inner_text().count("No query was decided wrongly") == 1
    page.fill("#id_threshold", "0.4")
    page.click("text=Apply as a new version")
    page.wait_for_selector("text=Applied as version")
    assert Router.objects.get(slug="support").threshold == 0.4
