"""The playground's retrieved-context field in a real browser: with htmx and without JavaScript."""

from __future__ import annotations

import pytest

from tests.browser.test_console_flow import _log_in

pytestmark = pytest.mark.browser
DOCUMENTS = "\n---\n".join(f"Johnson & Co. account note {n}." for n in range(1, 7))


def _complexity(page) -> str:
    return page.locator("dt:text-is('Complexity') + dd").inner_text()


def test_pasting_context_reroutes_the_query_as_complex(
    transactional_db, live_server, page, artifacts, operator, demo_router
):
    _log_in(page, live_server, "olivia", "pw-olivia")
    page.goto(f"{live_server.url}/r/support/playground/")
    page.fill("input[name=q]", "where is my parcel?")
    page.wait_for_selector("dt:text-is('Complexity')")
    assert _complexity(page) == "simple"

    page.click("details.context-field summary")
    page.fill("textarea[name=context]", DOCUMENTS)
    page.wait_for_function(
        "() => [...document.querySelectorAll('dt')].some(dt => dt.textContent === 'Complexity'"
        " && dt.nextElementSibling.textContent === 'complex')"
    )
    assert "context 6 documents" in page.locator("#decision").inner_text()
    assert "context=" in page.url  # the pushed URL reopens the same decision
    page.screenshot(path=str(artifacts / "playground_context.png"), full_page=True)


def test_the_context_field_works_without_javascript(
    transactional_db, live_server, chromium, operator, demo_router
):
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        _log_in(page, live_server, "olivia", "pw-olivia")
        page.goto(f"{live_server.url}/r/support/playground/")
        page.fill("input[name=q]", "where is my parcel?")
        page.click("details.context-field summary")
        page.fill("textarea[name=context]", "6 documents, 12000 tokens")
        page.click("#query-form button[type=submit]")
        assert _complexity(page) == "complex"
        assert page.locator("textarea[name=context]").input_value() == "6 documents, 12000 tokens"
    finally:
        context.close()
