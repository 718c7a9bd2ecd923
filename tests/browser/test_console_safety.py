"""In a real browser: deletes ask first, a user without a role sees the styled 403 page, the intent
page pages its examples, and the batch chart keeps its labels while a spinner shows the wait."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from routing.models import Example, Intent
from routing.services.examples import examples_add_bulk
from tests.browser.test_console_flow import _log_in

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/semroute-browser")  # screenshots to look at; never committed
LONG_INTENT = "refund_not_showing_up_in_my_bank_account_after_return"


def _shot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


def test_deleting_an_example_asks_first_with_and_without_javascript(
    transactional_db, live_server, page, chromium, operator, demo_router
):
    first, second = Example.objects.filter(intent__name="billing").order_by("-id")[:2]
    _log_in(page, live_server, "olivia", "pw-olivia")
    page.goto(f"{live_server.url}/r/support/intents/billing/")
    questions = []

    def answer(dialog, accept: bool) -> None:
        questions.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, accept=False))
    page.locator(f"a[href$='/examples/{first.pk}/delete/']").click()
    page.wait_for_timeout(
        300
    )  # a dismissed confirm sends nothing; give htmx the chance to misbehave
    assert questions and first.text[:40] in questions[0]
    assert Example.objects.filter(pk=first.pk).exists()

    page.once("dialog", lambda dialog: answer(dialog, accept=True))
    page.locator(f"a[href$='/examples/{first.pk}/delete/']").click()
    page.locator("#examples .messages li.success").wait_for()
    assert "Deleted" in page.locator("#examples .messages").inner_text()
    assert not Example.objects.filter(pk=first.pk).exists()

    plain = chromium.new_context(java_script_enabled=False)
    try:
        nojs = plain.new_page()
        _log_in(nojs, live_server, "olivia", "pw-olivia")
        nojs.goto(f"{live_server.url}/r/support/intents/billing/")
        nojs.locator(f"a[href$='/examples/{second.pk}/delete/']").click()
        assert "Delete example" in nojs.locator("#confirm-delete h2").inner_text()
        assert Example.objects.filter(pk=second.pk).exists()
        nojs.locator("#confirm-delete button[type=submit]").click()
        nojs.wait_for_url(re.compile(r"/intents/billing/$"))
        assert "Deleted" in nojs.locator(".messages").inner_text()
        assert not Example.objects.filter(pk=second.pk).exists()
    finally:
        plain.close()


def test_a_user_without_a_role_sees_the_styled_403_page(
    transactional_db, live_server, page, outsider, demo_router
):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "oscar")
    page.fill("input[name=password]", "pw-oscar")
    page.click("button[type=submit]")
    page.locator("#forbidden").wait_for()
    assert "ask an administrator for the viewer or operator role" in page.inner_text("#forbidden")
    style = page.evaluate(
        "() => { const s = getComputedStyle(document.querySelector('#forbidden'));"
        " return [s.borderTopLeftRadius, s.backgroundColor]; }"
    )
    assert style == ["8px", "rgb(255, 255, 255)"]  # the console's .card, so the stylesheet loaded
    assert page.locator(".topbar .brand").inner_text() == "semroute"
    _shot(page, "403.png")


def test_the_intent_page_pages_its_examples_and_keeps_the_search(
    transactional_db, live_server, page, operator, demo_router
):
    billing = Intent.objects.get(router=demo_router, name="billing")
    Example.objects.bulk_create(
        Example(intent=billing, text=f"{'odd' if i % 2 else 'even'} statement line {i:03d}")
        for i in range(240)
    )
    total = billing.examples.count()
    _log_in(page, live_server, "olivia", "pw-olivia")
    page.goto(f"{live_server.url}/r/support/intents/billing/")
    assert page.locator("#example-list tbody tr").count() == 100
    assert f"Page 1 of {-(-total // 100)}" in page.inner_text("#example-list .pager")

    page.fill("input[name=q]", "odd statement")
    page.wait_for_function(
        "() => document.querySelector('#example-list p').innerText.includes('120 matching')"
    )
    page.click("#example-list a[rel=next]")
    page.wait_for_function(
        "() => document.querySelector('#example-list .current')?.innerText === 'Page 2 of 2'"
    )
    rows = page.locator("#example-list tbody tr td:first-child").all_inner_texts()
    assert len(rows) == 20 and all(row.startswith("odd statement") for row in rows)
    assert parse_qs(urlsplit(page.url).query) == {"q": ["odd statement"], "page": ["2"]}
    page.click("#example-list a[rel=prev]")
    page.wait_for_function(
        "() => document.querySelector('#example-list .current')?.innerText === 'Page 1 of 2'"
    )
    _shot(page, "intent-pages.png")


def test_the_batch_chart_keeps_long_labels_and_a_spinner_shows_the_wait(
    transactional_db, live_server, page, operator, demo_router
):
    intent = Intent.objects.create(router=demo_router, name=LONG_INTENT, handler="refunds.bank")
    examples_add_bulk(
        intent=intent,
        texts=[
            "my refund is not showing up in my bank account",
            "the refund still isn't in my bank account after the return",
            "bank account shows no refund for my returned order",
        ],
    )
    queries = "\n".join(
        ["refund not showing in my bank account"] * 3
        + ["where is my parcel", "I was charged twice this month", "cancel my plan please"]
    )
    _log_in(page, live_server, "olivia", "pw-olivia")
    page.goto(f"{live_server.url}/r/support/playground/batch/")
    page.fill("textarea[name=queries]", queries)

    held = []
    page.route("**/playground/batch/", lambda route: held.append(route))
    page.click("text=Route all")
    page.locator("#batch-busy").wait_for(state="visible")
    assert page.get_attribute("#batch-results", "aria-busy") == "true"
    held[0].continue_()
    page.unroute("**/playground/batch/")
    page.locator("#batch-results .js-plotly-plot .main-svg").first.wait_for()
    assert page.get_attribute("#batch-results", "aria-busy") is None
    assert not page.locator("#batch-busy").is_visible()

    svg = page.locator("#batch-results .main-svg").first.bounding_box()
    labels = page.evaluate(
        "() => [...document.querySelectorAll('#batch-results .xtick text, #batch-results .ytick text,"
        " #batch-results .g-xtitle text, #batch-results .g-ytitle text')]"
        ".map(t => { const r = t.getBoundingClientRect();"
        " return {text: t.textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom}; })"
    )
    assert any(label["text"].startswith(LONG_INTENT[:20]) for label in labels)
    for label in labels:  # every tick label and axis title lies inside the chart
        assert svg["x"] - 1 <= label["left"] and label["right"] <= svg["x"] + svg["width"] + 1, (
            label
        )
        assert svg["y"] - 1 <= label["top"] and label["bottom"] <= svg["y"] + svg["height"] + 1, (
            label
        )
    counts = [label["text"] for label in labels if label["text"].isdigit()]
    y_ticks = page.locator("#batch-results .ytick text").all_text_contents()
    assert y_ticks and all(re.fullmatch(r"\d+", tick) for tick in y_ticks), y_ticks
    assert counts
    _shot(page, "batch-chart.png")


def test_a_failed_add_keeps_the_address_and_a_rollback_updates_the_header(
    transactional_db, live_server, page, operator, demo_router
):
    _log_in(page, live_server, "olivia", "pw-olivia")
    page.goto(f"{live_server.url}/r/support/")
    page.fill("#new-intent input[name=name]", "Bad Name")
    page.fill("#new-intent input[name=handler]", "x")
    page.click("#new-intent button[type=submit]")
    page.locator("#new-intent .errorlist").wait_for()
    assert page.url == f"{live_server.url}/r/support/"

    page.fill("#new-intent input[name=name]", "returns")
    page.click("#new-intent button[type=submit]")
    page.wait_for_url(re.compile(r"/intents/returns/$"))
    version = page.locator("#router-head .router-version").inner_text()

    page.goto(f"{live_server.url}/r/support/versions/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#history form button").first.click()
    page.wait_for_function(
        "v => document.querySelector('#router-head .router-version').innerText !== v", arg=version
    )
    now = int(page.locator("#router-head .router-version").inner_text().removeprefix("v"))
    assert now == int(version.removeprefix("v")) + 1
    assert "Rolled back" in page.locator("#history .messages").inner_text()
