"""The label-correction loop in Chromium: a thumbs-down through the API puts the decision in the
queue, one key relabels it (a new version), the same query then routes to the corrected intent,
and the live confusion matrix shows the reviewed decision."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

from analytics.decision_log import decision_log
from routing.models import Router
from routing.services.api_keys import api_key_create

pytestmark = pytest.mark.browser

QUERY = "my card"  # the demo router answers small_talk; the customer meant billing
ROUTE_WAIT_SECONDS = 30  # a hang guard: the API answers from the old version while the new compiles


class _API:
    """JSON over real HTTP to the live server, with the key."""

    def __init__(self, base: str, key: str) -> None:
        self.base, self.key = base, key

    def post(self, path: str, body: dict) -> tuple[int, dict]:
        request = urllib.request.Request(
            self.base + path,
            data=json.dumps(body).encode(),
            headers={"X-API-Key": self.key, "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())


def _log_in(page, live_server) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "olivia")
    page.fill("input[name=password]", "pw-olivia")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def test_thumbs_down_relabel_with_one_key_routes_right_and_shows_in_the_matrix(
    transactional_db, live_server, page, artifacts, operator, demo_router
):
    _, key = api_key_create(name="app", scopes=["route", "feedback"], routers=[])
    api = _API(f"{live_server.url}/api/v1/", key)
    _, decision = api.post("routers/support/route", {"query": QUERY, "session_id": "s1"})
    assert decision["intent"] == "small_talk"
    decision_log.flush()
    status, _ = api.post(
        f"decisions/{decision['decision_id']}/feedback", {"rating": "down", "comment": "no!"}
    )
    assert status == 200

    _log_in(page, live_server)
    page.goto(f"{live_server.url}/r/support/decisions/?feedback=down")
    assert page.locator("table.decisions tbody tr").count() == 1
    page.screenshot(path=str(artifacts / "review-decisions.png"), full_page=True)
    page.click(f"text={QUERY}")
    page.wait_for_selector(".decision-card")
    assert page.locator(".decided-intent").inner_text() == "small_talk"
    assert page.locator(".js-plotly-plot").count() == 1  # the playground's score chart
    assert "“no!”" in page.locator("ul.feedback").inner_text()
    page.screenshot(path=str(artifacts / "review-decision.png"), full_page=True)
    page.goto(f"{live_server.url}/r/support/review/?reason=thumbs_down")
    item = page.locator(".review-item")
    assert item.count() == 1
    assert item.locator(".item-query").inner_text() == QUERY
    assert "thumbs down" in item.inner_text()
    assert "review-item" in page.evaluate("document.activeElement.className")
    page.screenshot(path=str(artifacts / "review-queue.png"), full_page=True)
    # Intents are numbered by name: 1 account_access, 2 billing.
    assert item.locator("button[data-key='2']").inner_text().endswith("billing")
    version = Router.objects.get(slug="support").version
    page.keyboard.press("2")
    page.wait_for_selector(".review-item.status-added")
    assert page.locator(".review-item .reviewed").inner_text() == "billing"
    assert Router.objects.get(slug="support").version == version + 1

    # The same query now routes to billing: in the playground at once, through the API as soon
    # as its worker has compiled the new version.
    page.goto(f"{live_server.url}/r/support/playground/?q={QUERY.replace(' ', '+')}")
    assert page.locator(".decided-intent").get_attribute("data-intent") == "billing"
    deadline = time.monotonic() + ROUTE_WAIT_SECONDS
    _, routed = api.post("routers/support/route", {"query": QUERY})
    while routed["intent"] != "billing" and time.monotonic() < deadline:
        time.sleep(0.2)
        _, routed = api.post("routers/support/route", {"query": QUERY})
    assert (routed["intent"], routed["router_version"]) == ("billing", version + 1)

    page.goto(f"{live_server.url}/r/support/quality/")
    assert page.locator(".js-plotly-plot").count() == 1
    page.screenshot(path=str(artifacts / "review-quality.png"), full_page=True)
    wrong = page.locator("table.cells tr.wrong")
    assert wrong.count() == 1
    assert wrong.locator("td").nth(0).inner_text() == "billing"
    assert wrong.locator("td").nth(1).inner_text() == "small_talk"
    wrong.locator("a").click()
    page.wait_for_selector("table.cell-items")
    assert page.locator("table.cell-items a").first.inner_text() == QUERY


def _queue_two(demo_router) -> None:
    from analytics.services import decision_record
    from routing.decide import decide

    for query in ("my card", "money"):  # both low confidence: both open in the queue
        decision_record(
            router=demo_router,
            query=query,
            decision=decide(router=demo_router, query=query),
            principal=None,
        )
    decision_log.flush()


def test_j_k_and_s_move_between_items_and_a_confirms(
    transactional_db, live_server, page, operator, demo_router
):
    _queue_two(demo_router)
    _log_in(page, live_server)
    page.goto(f"{live_server.url}/r/support/review/")
    current = page.locator(".review-item.current .item-query")
    assert current.inner_text() == "money"  # most recently seen first
    page.keyboard.press("j")
    assert current.inner_text() == "my card"
    page.keyboard.press("k")
    assert current.inner_text() == "money"
    page.keyboard.press("s")
    assert current.inner_text() == "my card"
    page.keyboard.press("a")
    page.wait_for_selector(".review-item.status-confirmed")
    assert page.locator(".review-item.status-confirmed .item-query").inner_text() == "my card"
    page.keyboard.press("u")
    page.wait_for_selector(".review-item.status-open >> text=my card")
    assert page.locator(".review-item.status-open").count() == 2


def test_the_queue_works_without_javascript(
    transactional_db, live_server, chromium, operator, demo_router
):
    _queue_two(demo_router)
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        _log_in(page, live_server)
        page.goto(f"{live_server.url}/r/support/review/")
        assert page.locator(".review-item").count() == 2
        page.locator(".review-item").first.locator("button[data-key='o']").click()
        page.wait_for_url(f"{live_server.url}/r/support/review/")
        assert page.locator(".review-item").count() == 1
        assert page.locator(".messages").inner_text() == "“money”: out of scope."
    finally:
        context.close()
