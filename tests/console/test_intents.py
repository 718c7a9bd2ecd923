"""Intents table inline editing, the intent page's examples (one, bulk, delete, search) and conflicts."""

import numpy as np
import pytest

from routing.conflicts import find_conflicts
from routing.models import Example, Intent, Router
from tests.console.conftest import HX

BILLING = "/r/support/intents/billing/"


def test_inline_edit_htmx_returns_the_saved_row(operator_client, demo_router):
    form = operator_client.get(BILLING + "edit/", headers=HX)
    assert 'hx-include="closest tr"' in form.text
    version = demo_router.version
    row = operator_client.post(
        BILLING + "edit/",
        {"handler": "billing_v2", "threshold": "0.6", "enabled": "on"},
        headers=HX,
    )
    assert row.status_code == 200
    assert row.text.lstrip().startswith('<tr id="intent-billing"') and "billing_v2" in row.text
    intent = Intent.objects.get(router=demo_router, name="billing")
    assert (intent.handler, intent.threshold) == ("billing_v2", 0.6)
    demo_router.refresh_from_db()
    assert demo_router.version == version + 1


def test_inline_edit_invalid_threshold_keeps_the_form_with_the_error(operator_client, demo_router):
    row = operator_client.post(
        BILLING + "edit/", {"handler": "x", "threshold": "1.5", "enabled": "on"}, headers=HX
    )
    assert 'class="editing"' in row.text and "less than or equal to 1" in row.text
    assert Intent.objects.get(router=demo_router, name="billing").handler != "x"


def test_plain_edit_posts_and_redirects(operator_client, demo_router):
    response = operator_client.post(
        BILLING + "edit/", {"name": "billing", "handler": "plain_handler", "enabled": "on"}
    )
    assert response.status_code == 302 and response["Location"] == "/r/support/"
    assert Intent.objects.get(router=demo_router, name="billing").handler == "plain_handler"


def test_create_intent_then_delete_it(operator_client, demo_router):
    response = operator_client.post(
        "/r/support/intents/new/", {"name": "returns", "handler": "returns_flow", "enabled": "on"}
    )
    assert response.status_code == 302 and response["Location"] == "/r/support/intents/returns/"
    bad = operator_client.post("/r/support/intents/new/", {"name": "Bad Name", "handler": "x"})
    assert bad.status_code == 200 and "lowercase" in bad.text
    assert operator_client.post("/r/support/intents/returns/delete/").status_code == 302
    assert not Intent.objects.filter(router=demo_router, name="returns").exists()


def test_a_form_wide_error_is_shown_once(operator_client, demo_router):
    response = operator_client.post(
        "/r/support/intents/new/", {"name": "billing", "handler": "x", "enabled": "on"}
    )

    assert response.status_code == 200
    assert response.text.count("already exists") == 1


def test_add_one_example_plain_and_htmx(operator_client, demo_router):
    response = operator_client.post(
        BILLING + "examples/add/", {"text": "  Why is my invoice higher? "}
    )
    assert response.status_code == 302 and response["Location"] == BILLING
    assert Example.objects.filter(intent__name="billing", text="Why is my invoice higher?").exists()
    duplicate = operator_client.post(
        BILLING + "examples/add/", {"text": "Why is my invoice higher?"}, headers=HX
    )
    assert (
        duplicate.status_code == 200
        and 'id="examples"' in duplicate.text
        and "already an example" in duplicate.text
    )
    blank = operator_client.post(BILLING + "examples/add/", {"text": "   "}, headers=HX)
    assert "required" in blank.text


def test_bulk_paste_reports_added_duplicates_blank_lines(operator_client, demo_router):
    existing = Example.objects.filter(intent__name="billing").first().text
    paste = f"first new line\n\n   \n{existing}\nsecond new line\nfirst new line\r\n\t\n"
    response = operator_client.post(BILLING + "examples/bulk/", {"texts": paste}, headers=HX)
    assert "Added 2; 2 duplicate(s), 3 blank line(s), 0 rejected." in response.text
    assert (
        Example.objects.filter(
            intent__name="billing", text__in=["first new line", "second new line"]
        ).count()
        == 2
    )


def test_bulk_paste_of_10000_characters(operator_client, demo_router):
    lines = [f"bulk example {i:04d} about an invoice question" for i in range(500)]
    paste = "\n".join(lines)[:10_000]
    assert len(paste) == 10_000
    expected = len(paste.splitlines())
    response = operator_client.post(BILLING + "examples/bulk/", {"texts": paste})
    assert response.status_code == 302
    report = operator_client.get(BILLING).text
    assert f"Added {expected}; 0 duplicate(s), 0 blank line(s), 0 rejected." in report
    assert (
        Example.objects.filter(intent__name="billing", text__startswith="bulk example").count()
        == expected
    )


def test_bulk_paste_rejects_an_overlong_line_and_keeps_the_rest(operator_client, demo_router):
    paste = "a fine line\n" + "y" * 10_000
    response = operator_client.post(BILLING + "examples/bulk/", {"texts": paste}, headers=HX)
    assert "Added 1; 0 duplicate(s), 0 blank line(s), 1 rejected." in response.text
    assert "limited to 2000 characters" in response.text


def test_delete_and_search_examples(operator_client, demo_router):
    example = Example.objects.filter(intent__name="billing").first()
    response = operator_client.post(f"{BILLING}examples/{example.pk}/delete/", headers=HX)
    assert response.status_code == 200 and "Deleted" in response.text
    assert not Example.objects.filter(pk=example.pk).exists()
    other = Example.objects.filter(intent__name="refund").first()
    assert operator_client.post(f"{BILLING}examples/{other.pk}/delete/").status_code == 404
    search = operator_client.get(BILLING + "?q=invoice", headers=HX)
    assert search.text.lstrip().startswith('<div id="example-list">')
    rows = search.text.count("<tr>") - 1
    assert rows == Example.objects.filter(intent__name="billing", text__icontains="invoice").count()


def test_find_conflicts_flags_an_example_nearer_another_intent():
    vectors = np.array([[1, 0], [0.99, 0.14], [0, 1], [0.1, 0.99], [0.95, 0.31]], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels = np.array(["a", "a", "b", "b", "b"])  # the last "b" sits among the "a"s
    found = find_conflicts(vectors, labels)
    assert [(i, j) for i, j, _, _ in found] == [(4, 1)]
    _, _, other, own = found[0]
    assert other > 0.95 and own < 0.5


def test_mislabelled_example_is_flagged_on_the_intent_and_router_pages(
    operator_client, demo_router
):
    refund_text = Example.objects.filter(intent__name="refund").first().text
    operator_client.post(BILLING + "examples/add/", {"text": refund_text + " please"})
    page = operator_client.get(BILLING)
    conflicts = page.text.split('id="conflicts"')[1].split("</section>")[0]
    assert refund_text in conflicts and "refund" in conflicts
    assert "conflict" in operator_client.get("/r/support/").text


@pytest.mark.parametrize("url", [BILLING + "row/"])
def test_intent_row_cancel(operator_client, demo_router, url):
    assert operator_client.get(url, headers=HX).text.lstrip().startswith('<tr id="intent-billing"')
    assert operator_client.get(url).status_code == 302


def test_intent_row_keeps_its_conflict_badge_after_cancel_and_inline_save(
    operator_client, demo_router
):
    refund_text = Example.objects.filter(intent__name="refund").first().text
    operator_client.post(BILLING + "examples/add/", {"text": refund_text + " please"})

    cancelled = operator_client.get(BILLING + "row/", headers=HX)
    saved = operator_client.post(
        BILLING + "edit/", {"handler": "billing", "threshold": "", "enabled": "on"}, headers=HX
    )

    assert 'class="badge warn"' in cancelled.text
    assert 'class="badge warn"' in saved.text and 'id="intent-billing"' in saved.text


def test_added_intent_message_shows_the_version_just_made(operator_client, demo_router):
    created = operator_client.post(
        "/r/support/intents/new/",
        {"name": "returns", "handler": "returns_flow", "enabled": "on"},
        follow=True,
    )
    version = Router.objects.get(pk=demo_router.pk).version
    assert f"Added intent returns (v{version})." in created.text


def test_an_intent_cannot_be_called_new_the_add_intent_address(operator_client, demo_router):
    response = operator_client.post(
        "/r/support/intents/new/", {"name": "new", "handler": "x", "enabled": "on"}
    )

    assert response.status_code == 200 and "&#x27;new&#x27; is reserved" in response.text
    assert not Intent.objects.filter(router=demo_router, name="new").exists()
