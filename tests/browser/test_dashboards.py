"""In Chromium, with generated demo traffic: the dashboard draws its charts, the time range form
swaps the panels (htmx) and updates the address, and a chart's table opens."""

from __future__ import annotations

import pytest

from analytics.dashboards.demo_traffic import demo_traffic_generate

pytestmark = pytest.mark.browser


NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


def _login(page, live_server):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "olivia")
    page.fill("input[name=password]", "pw-olivia")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def test_dashboard_sections_with_generated_traffic(
    transactional_db, live_server, page, operator, demo_router, settings, artifacts
):
    settings.DEBUG = True
    demo_traffic_generate(router=demo_router, count=1500, days=30)
    _login(page, live_server)
    page.goto(f"{live_server.url}/r/support/dashboard/")
    assert page.locator("#panels .js-plotly-plot").count() == 3  # tiers, intents, languages
    assert page.evaluate(NO_SIDEWAYS_SCROLL)  # the router's tabs wrap instead of overflowing
    page.screenshot(path=str(artifacts / "dashboard-traffic.png"), full_page=True)
    page.select_option("#range", "30d")
    with page.expect_response(lambda response: "range=30d" in response.url):
        page.click("form.range-picker button[type=submit]")
    page.wait_for_function("document.querySelectorAll('#panels .js-plotly-plot').length === 3")
    assert "range=30d" in page.url
    assert page.locator("h1").count() == 1  # the panels were swapped, not the page nested
    page.locator("#panel-traffic_tier summary").click()
    assert page.locator("#panel-traffic_tier table tbody tr").count() > 0
    for section, charts in (("cost", 2), ("latency", 2), ("quality", 3), ("drift", 2)):
        page.goto(f"{live_server.url}/r/support/dashboard/{section}/?range=30d")
        assert page.locator("#panels .js-plotly-plot").count() == charts, section
        assert page.evaluate(NO_SIDEWAYS_SCROLL), section
        page.screenshot(path=str(artifacts / f"dashboard-{section}.png"), full_page=True)
    page.goto(f"{live_server.url}/dashboards/?range=30d")
    assert page.locator("#panel-routers td", has_text="support").count() == 1


def test_new_out_of_scope_clusters_link_into_the_decision_browser(
    transactional_db, live_server, page, operator, demo_router, settings, artifacts
):
    from django.utils import timezone

    from analytics.dashboards.clusters import out_of_scope_clusters_compute
    from analytics.decision_log import decision_rows_write
    from analytics.review.intake import review_intake
    from tests.dashboards.conftest import BITCOIN, WEATHER, out_of_scope_rows

    settings.DEBUG = True
    settings.SEMROUTE_REVIEW_SAMPLE_RATE = 0.0
    demo_traffic_generate(router=demo_router, count=600, days=30)
    now = timezone.now()
    rows = [
        *out_of_scope_rows(demo_router, WEATHER, days_ago=12, times=2, now=now),
        *out_of_scope_rows(demo_router, WEATHER, days_ago=2, now=now),
        *out_of_scope_rows(demo_router, BITCOIN, days_ago=1, times=2, now=now),
    ]
    decision_rows_write(rows)
    review_intake(decision_ids=[row.id for row in rows])
    out_of_scope_clusters_compute(router=demo_router)
    _login(page, live_server)
    page.goto(f"{live_server.url}/r/support/dashboard/drift/")
    panel = page.locator("#panel-drift_new_clusters")
    # The demo's own new topic (book recommendations, last week only) is listed too.
    assert panel.locator("tbody tr", has_text="novel").count() >= 1
    bitcoin = panel.locator("tbody tr", has_text="bitcoin")
    assert bitcoin.count() == 1
    assert panel.locator("tbody tr", has_text="weather").count() == 0
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    panel.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "dashboard-drift-clusters.png"), full_page=True)
    bitcoin.locator("a", has_text="decisions").click()
    page.wait_for_url("**/decisions/?*")
    assert "intent=__none__" in page.url
    assert page.locator("table tbody tr", has_text="bitcoin").count() >= 1
    page.go_back()
    page.locator("#panel-drift_new_clusters tbody tr", has_text="bitcoin").locator(
        "a", has_text="review"
    ).click()
    page.wait_for_url("**/review/*/")
    assert "bitcoin" in page.content()
