"""The header follows a rollback at once; the add-intent and add-rule addresses answer GET and keep the URL."""

import pytest

from routing.models import Intent, Router, RouterVersion, Rule
from tests.console.conftest import HX


def test_htmx_rollback_swaps_the_header_with_the_new_version_out_of_band(
    operator_client, demo_router
):
    operator_client.post("/r/support/intents/new/", {"name": "returns", "handler": "r"})
    first = RouterVersion.objects.filter(router=demo_router).order_by("number").first().number
    response = operator_client.post(f"/r/support/versions/{first}/rollback/", headers=HX)
    version = Router.objects.get(pk=demo_router.pk).version
    head = response.text.split('id="router-head"')[1].split("</h1>")[0]
    assert 'hx-swap-oob="true"' in head and f">v{version}<" in head
    assert 'id="history"' in response.text and "<html" not in response.text


def test_the_versions_page_itself_has_no_out_of_band_header(operator_client, demo_router):
    page = operator_client.get("/r/support/versions/").text
    assert page.count('id="router-head"') == 1 and "hx-swap-oob" not in page


@pytest.mark.parametrize(
    ("url", "form_id"),
    [("/r/support/intents/new/", 'id="new-intent"'), ("/r/support/rules/new/", 'id="rule-form"')],
)
def test_get_on_an_add_address_shows_the_form_not_a_blank_405(
    operator_client, demo_router, url, form_id
):
    page = operator_client.get(url)
    assert page.status_code == 200 and "<html" in page.text and form_id in page.text
    fragment = operator_client.get(url, headers=HX)
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert fragment.text.lstrip().startswith(f"<form {form_id}")


@pytest.mark.parametrize(
    ("url", "form_id"),
    [("/r/support/intents/new/", 'id="new-intent"'), ("/r/support/rules/new/", 'id="rule-form"')],
)
def test_add_forms_post_with_htmx_so_a_failure_keeps_the_page_address(
    operator_client, demo_router, url, form_id
):
    list_url = url.rsplit("new/", 1)[0].replace("intents/", "")
    page = operator_client.get(list_url).text
    form = page.split(f"<form {form_id}")[1].split(">")[0]
    assert f'hx-post="{url}"' in form and 'hx-target="this"' in form


@pytest.mark.parametrize(
    ("url", "payload", "error"),
    [
        ("/r/support/intents/new/", {"name": "Bad Name", "handler": "x"}, "lowercase"),
        (
            "/r/support/rules/new/",
            {"kind": "regex", "pattern": "(", "priority": 1, "action": "block", "reason": "r"},
            "Invalid regular expression",
        ),
    ],
)
def test_a_failed_htmx_add_returns_only_the_form_with_its_errors(
    operator_client, demo_router, url, payload, error
):
    response = operator_client.post(url, payload, headers=HX)
    assert response.status_code == 200 and error in response.text
    assert "<html" not in response.text and "HX-Redirect" not in response
    assert response.text.lstrip().startswith("<form id=")


def test_a_successful_htmx_add_sends_the_browser_to_the_new_page(operator_client, demo_router):
    intent = operator_client.post(
        "/r/support/intents/new/", {"name": "returns", "handler": "r", "enabled": "on"}, headers=HX
    )
    assert intent["HX-Redirect"] == "/r/support/intents/returns/"
    assert Intent.objects.filter(router=demo_router, name="returns").exists()
    rule = operator_client.post(
        "/r/support/rules/new/",
        {"kind": "keyword", "pattern": "lawyer", "priority": 5, "action": "block", "reason": "L"},
        headers=HX,
    )
    assert rule["HX-Redirect"] == "/r/support/rules/"
    assert Rule.objects.filter(router=demo_router, pattern="lawyer").exists()
