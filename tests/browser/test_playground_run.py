"""The playground's Run in real Chromium: the answer streams into the page (fetch + SSE) with its
attempts under it; without JavaScript the form posts and the page shows the whole answer."""

from __future__ import annotations

import pytest

from routing.services.versioning import config_object_save
from tests.browser.test_console_flow import _log_in
from tests.wire.openai_server import ChatReply

pytestmark = pytest.mark.browser
ANSWER = "Your parcel left the depot this morning and arrives tomorrow."


@pytest.fixture
def local_router(transactional_db, demo_router, openai_server, monkeypatch):
    from analytics.decision_log import decision_log

    monkeypatch.setattr(decision_log, "autostart", False)
    tier = demo_router.tiers.get(name="gpt-4o-mini")
    tier.provider, tier.base_url, tier.api_key_env = "openai-compatible", openai_server.base_url, ""
    tier.model = "mini-local"
    config_object_save(obj=tier)
    openai_server.default_chat_reply = ChatReply(content=ANSWER, chunk_delay_seconds=0.05)
    yield demo_router
    decision_log.discard()


def test_run_streams_the_answer_into_the_page(live_server, page, artifacts, operator, local_router):
    _log_in(page, live_server, "olivia", "pw-olivia")
    page.goto(f"{live_server.url}/r/support/playground/?q=where+is+my+parcel")

    page.click("form.run button[type=submit]")

    page.wait_for_function(
        "document.querySelector('form.run .run-status').textContent.startsWith('Answered by')"
    )
    assert page.locator("form.run .run-answer").inner_text() == ANSWER
    assert page.locator("form.run .run-status").inner_text() == "Answered by gpt-4o-mini."
    cells = page.locator("form.run .run-attempts tbody tr td").all_inner_texts()
    assert cells[:2] == ["gpt-4o-mini", "ok"]
    assert page.url.endswith("/playground/?q=where+is+my+parcel")  # streamed, not navigated
    page.screenshot(path=str(artifacts / "playground_run.png"), full_page=True)


def test_run_works_without_javascript(live_server, chromium, operator, local_router):
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        _log_in(page, live_server, "olivia", "pw-olivia")
        page.goto(f"{live_server.url}/r/support/playground/?q=where+is+my+parcel")
        page.click("form.run button[type=submit]")
        assert page.locator("form.run .run-answer").inner_text() == ANSWER
        assert page.locator("form.run .run-attempts tbody td").first.inner_text() == "gpt-4o-mini"
    finally:
        context.close()


def test_tiers_page_in_the_browser(live_server, page, artifacts, operator, local_router):
    _log_in(page, live_server, "olivia", "pw-olivia")
    page.goto(f"{live_server.url}/r/support/tiers/")
    page.locator("#tiers tr", has_text="gpt-4o-mini").get_by_role(
        "button", name="Test this tier"
    ).click()
    assert "Tier gpt-4o-mini answered" in page.locator(".messages").inner_text()
    page.screenshot(path=str(artifacts / "tiers_gateway.png"), full_page=True)
