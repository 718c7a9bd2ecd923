"""In Chromium: an experiment created from the console form, its results page with traffic
(chart with intervals, table, tests named), pause from the page; and the form without JavaScript."""

from __future__ import annotations

import pytest

from analytics.decision_log import decision_log
from analytics.experiments.models import Experiment
from routing.decide import decide_for_caller
from routing.decision_hooks import hooks
from tests.api.conftest import _api_state  # noqa: F401  (decision log buffer, no flusher)

pytestmark = pytest.mark.browser

QUERIES = [
    "please give me my money back for the broken blender I bought",
    "why am I being billed two times for the same month",
    "my app keeps crashing whenever I start it",
]


def _login(page, live_server):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "olivia")
    page.fill("input[name=password]", "pw-olivia")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def _traffic(router, users: int) -> None:
    for index in range(users):
        query = QUERIES[index % len(QUERIES)]
        decisions, experiment = decide_for_caller(
            router=router, queries=[query], user_id=f"user-{index}"
        )
        hooks.record(
            router=router,
            queries=[query],
            decisions=decisions,
            principal=None,
            user_ref=f"user-{index}",
            channel="api",
            experiment_id=experiment.id,
            experiment_arm=experiment.arm,
        )
    decision_log.flush()


def test_create_watch_and_pause_an_experiment(
    transactional_db, live_server, page, operator, demo_router, artifacts
):
    _login(page, live_server)
    page.goto(f"{live_server.url}/r/support/experiments/")
    page.fill("#id_name", "knn vs linear")
    page.fill("#id_arm1_policy", '{"method": "knn"}')
    page.click("text=Create experiment")
    page.wait_for_selector("#arm-results")
    experiment = Experiment.objects.get()
    assert page.locator("#experiment-status").inner_text() == "running"

    _traffic(demo_router, 300)
    page.reload()
    page.wait_for_selector(".js-plotly-plot")
    rows = page.locator("#arm-results tbody tr")
    assert rows.count() == 3
    assert "Welch's t test (two-sided)" in page.locator("#results").inner_text()
    page.screenshot(path=str(artifacts / "experiment_results.png"), full_page=True)
    page.click("button:has-text('Pause')")
    page.wait_for_selector("text=is paused")
    experiment.refresh_from_db()
    assert experiment.status == "paused"


def test_the_new_experiment_form_works_without_javascript(
    transactional_db, live_server, chromium, operator, demo_router
):
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        _login(page, live_server)
        page.goto(f"{live_server.url}/r/support/experiments/")
        page.fill("#id_name", "no js")
        page.click("text=Create experiment")
        page.wait_for_selector("#arm-results")
        assert Experiment.objects.get().name == "no js"
        page.goto(f"{live_server.url}/r/support/experiments/")
        page.fill("#id_name", "second")
        page.click("text=Create experiment")
        assert "already runs experiment" in page.locator(".errors").inner_text()
    finally:
        context.close()
