"""End to end in a real browser: log in, add an intent and examples, route a query, correct it."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser

RETURNS_EXAMPLES = """I need to send these shoes back, they don't fit
How do I print a return label?

Can I exchange the jacket for a bigger size?
how do i return an item i bought last week
How do I print a return label?
"""
QUERY = "my package arrived damaged and the box was crushed"


def _log_in(page, live_server, username: str, password: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def test_operator_adds_intent_routes_a_query_and_corrects_it(
    transactional_db, live_server, page, artifacts, operator, demo_router
):
    _log_in(page, live_server, "olivia", "pw-olivia")
    router_link = page.locator("#routers a[href='/r/support/']")
    assert router_link.is_visible()

    # Add an intent, then paste its examples (one per line; a blank line and a duplicate are reported).
    router_link.click()
    page.fill("#new-intent input[name=name]", "returns")
    page.fill("#new-intent input[name=handler]", "returns_flow")
    page.fill("#new-intent textarea[name=description]", "Sending items back or exchanging them.")
    page.click("#new-intent button[type=submit]")
    page.wait_for_url(re.compile(r"/intents/returns/$"))
    page.fill("textarea[name=texts]", RETURNS_EXAMPLES)
    page.click("text=Add all")
    report = page.locator("#examples .messages li").first
    report.wait_for()
    assert report.inner_text() == "Added 4; 1 duplicate(s), 1 blank line(s), 0 rejected."
    assert page.locator("#example-list tbody tr").count() == 4

    # Inline edit on the router page (htmx swaps the row into a form and back).
    page.click("nav.tabs >> text=Intents")
    row = page.locator("#intent-returns")
    row.get_by_text("Edit").click()
    page.locator("#intent-returns input[name=threshold]").fill("0.4")
    page.locator("#intent-returns").get_by_text("Save").click()
    page.locator("#intent-returns.saved").wait_for()
    assert "0.4" in page.locator("#intent-returns").inner_text()
    page.screenshot(path=str(artifacts / "router.png"), full_page=True)

    # Playground: the decision and the chart appear as the operator types (debounced htmx).
    page.click("nav.tabs >> text=Playground")
    page.locator("#query-form input[name=q]").press_sequentially(QUERY, delay=15)
    card = page.locator("#decision .decision-card")
    card.wait_for()
    page.wait_for_function(
        "q => document.querySelector('#decision .decision-card')?.innerText.includes(q)", arg=QUERY
    )
    page.locator("#decision .js-plotly-plot .main-svg").first.wait_for()
    assert page.locator("#decision .js-plotly-plot .bars path").count() >= 3
    assert "Stage trace" in page.locator("#decision").inner_text()
    before = page.locator("#decision .decided-intent").get_attribute("data-intent")
    assert re.search(r"\?q=my\+package", page.url)

    # "This should be intent X": one click, a new version, and the decision changes.
    target = "returns" if before != "returns" else "complaint"
    page.locator(f"#decision button.chip[value={target}]").click()
    page.locator("#decision .correction").wait_for()
    after = page.locator("#decision .decided-intent").get_attribute("data-intent")
    assert (before, after) != (before, before) and after == target
    assert f"as an example of {target}" in page.locator("#decision .correction").inner_text()
    page.locator("#decision .js-plotly-plot .main-svg").first.wait_for()
    page.screenshot(path=str(artifacts / "playground.png"), full_page=True)


def test_playground_works_without_javascript(
    transactional_db, live_server, chromium, operator, demo_router
):
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        _log_in(page, live_server, "olivia", "pw-olivia")
        page.goto(f"{live_server.url}/r/support/playground/")
        page.fill("#query-form input[name=q]", "where is my parcel")
        page.click("#query-form button[type=submit]")
        assert page.locator("#decision .decided-intent").get_attribute("data-intent") == "shipping"
        page.locator("#decision button.chip[value=complaint]").click()
        assert "as an example of complaint" in page.locator(".messages").inner_text()
    finally:
        context.close()
