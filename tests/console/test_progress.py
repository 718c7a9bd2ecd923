"""Every request that can take over 300 ms shows a spinner (hx-indicator) and marks its target aria-busy."""

from html.parser import HTMLParser

import pytest

from tests.console.conftest import HX


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, {name: value or "" for name, value in attrs}))


def _elements(html: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Elements()
    parser.feed(html)
    return parser.elements


# (page, how it is fetched, the htmx attribute of the slow request, the URL it calls)
SLOW = [
    ("/r/support/playground/", "get", "hx-get", "/r/support/playground/"),
    (
        "/r/support/playground/?q=where+is+my+parcel",
        "get",
        "hx-post",
        "/r/support/playground/correct/",
    ),
    ("/r/support/playground/compare/", "get", "hx-get", "/r/support/playground/compare/"),
    ("/r/support/playground/batch/", "get", "hx-post", "/r/support/playground/batch/"),
    ("/r/support/policy/", "get", "hx-post", "/r/support/policy/"),
    ("/r/support/versions/", "get", "hx-post", "/r/support/versions/1/rollback/"),
    ("/r/support/intents/billing/", "get", "hx-post", "/r/support/intents/billing/examples/bulk/"),
]


@pytest.mark.parametrize(("url", "method", "attribute", "target"), SLOW)
def test_slow_requests_name_a_spinner_that_exists(
    operator_client, demo_router, url, method, attribute, target
):
    if "versions" in url:  # a second version, so there is something to roll back to
        operator_client.post("/r/support/intents/new/", {"name": "returns", "handler": "r"})
    elements = _elements(operator_client.get(url).text)
    ids = {attrs.get("id"): attrs for _, attrs in elements if attrs.get("id")}
    callers = [attrs for _, attrs in elements if attrs.get(attribute) == target]
    assert callers, f"nothing on {url} sends {attribute}={target}"
    for attrs in callers:
        indicator = attrs.get("hx-indicator", "")
        assert indicator.startswith("#"), attrs
        spinner = ids[indicator[1:]]
        assert "spinner" in spinner["class"].split() and spinner["role"] == "status"
        assert spinner["aria-label"]


def test_the_page_loads_the_script_that_sets_aria_busy_and_the_spinner_style(
    operator_client, demo_router
):
    from django.contrib.staticfiles import finders

    page = operator_client.get("/r/support/playground/").text
    assert "semroute/console.js" in page
    script = open(finders.find("semroute/console.js")).read()
    assert "htmx:beforeRequest" in script and 'setAttribute("aria-busy", "true")' in script
    assert "htmx:afterRequest" in script and 'removeAttribute("aria-busy")' in script
    css = open(finders.find("semroute/console.css")).read()
    assert ".htmx-request .spinner" in css and "@keyframes spin" in css


def test_the_decision_fragment_keeps_the_correction_spinner(operator_client, demo_router):
    fragment = operator_client.get(
        "/r/support/playground/", {"q": "where is my parcel"}, headers=HX
    ).text
    assert 'hx-indicator="#correct-busy"' in fragment and 'id="correct-busy"' in fragment
