"""Every console page, plain (the whole page) and with HX-Request (only its fragment)."""

import pytest

from tests.console.conftest import HX

PAGES = [
    # (url, marker only the fragment's own markup has)
    ("/", 'id="routers"'),
    ("/r/support/", 'id="intents"'),
    ("/r/support/intents/billing/", 'id="example-list"'),
    ("/r/support/intents/billing/edit/", 'name="handler"'),
    ("/r/support/rules/?kind=keyword&pattern=refund", 'id="pattern-results"'),
    ("/r/support/tiers/", 'id="tiers"'),
    ("/r/support/tiers/new/", 'id="tier-form"'),
    ("/r/support/policy/", 'id="preview"'),
    ("/r/support/versions/", 'id="history"'),
    ("/r/support/playground/?q=I+was+charged+twice", 'id="decision"'),
    ("/r/support/playground/compare/?q=I+was+charged+twice&method_b=centroid", 'id="comparison"'),
    ("/r/support/playground/batch/", 'id="batch-results"'),
]


@pytest.mark.parametrize(("url", "marker"), PAGES)
def test_page_renders_whole_page_plain_and_fragment_for_htmx(
    operator_client, demo_router, url, marker
):
    page = operator_client.get(url)
    assert page.status_code == 200
    assert "<html" in page.text and marker in page.text
    assert "vendor/htmx.min.js" in page.text and "vendor/plotly.min.js" in page.text

    fragment = operator_client.get(url, headers=HX)
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and "topbar" not in fragment.text
    assert marker in fragment.text


def test_routers_list_shows_version_counts_and_traffic_today(
    operator_client, demo_router, demo_document
):
    from django.utils import timezone

    from analytics.models import DecisionLog

    DecisionLog.objects.create(
        router=demo_router,
        router_version=1,
        query="hi",
        confidence=1,
        stage="rule",
        complexity="simple",
        latency_ms=1,
        created_at=timezone.now(),
    )
    DecisionLog.objects.create(
        router=demo_router,
        router_version=1,
        query="old",
        confidence=1,
        stage="rule",
        complexity="simple",
        latency_ms=1,
        created_at=timezone.now() - timezone.timedelta(days=2),
    )
    page = operator_client.get("/")
    row = page.text.split('href="/r/support/"')[1].split("</tr>")[0]
    cells = [cell.split("</td>")[0].strip() for cell in row.split("<td>")[1:]]
    examples = str(sum(len(intent["examples"]) for intent in demo_document["intents"]))
    assert cells == [demo_router.name, f"v{demo_router.version}", "9", examples, "1", cells[-1]]


def test_static_assets_are_served_locally():
    from django.contrib.staticfiles import finders

    assert finders.find("vendor/htmx.min.js") and finders.find("vendor/plotly.min.js")


def test_rule_tester_samples_recent_logged_queries_through_the_hook(operator_client, demo_router):
    from django.utils import timezone

    from analytics.models import DecisionLog

    for minutes, query in enumerate(["zebra refund asked twice", "zebra refund asked twice", "b"]):
        DecisionLog.objects.create(
            router=demo_router,
            router_version=1,
            query=query,
            confidence=1,
            stage="rule",
            complexity="simple",
            latency_ms=1,
            created_at=timezone.now() - timezone.timedelta(minutes=minutes),
        )
    fragment = operator_client.get(
        "/r/support/rules/", {"kind": "keyword", "pattern": "zebra"}, headers=HX
    ).text
    assert "<strong>1</strong> match among" in fragment
    assert 'zebra refund asked twice <span class="muted">— recent</span>' in fragment
