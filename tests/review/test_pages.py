"""Review pages plain and with HX-Request; viewers read, operators act, outsiders see nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from analytics.models import DecisionLog, Feedback
from analytics.review.models import ReviewDecision, ReviewItem
from routing.models import Example

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged(demo_router, route_logged):
    ids = {
        query: route_logged(demo_router, query)
        for query in ("my card", "where is my parcel", "how do I bake sourdough bread")
    }
    route_logged(demo_router, "playground try", channel="playground")
    return ids


def _login(client, user):
    client.force_login(user)
    return client


def test_decision_browser_lists_traffic_newest_first_and_filters(client, viewer, logged):
    _login(client, viewer)
    url = reverse("review:decisions", args=["support"])
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "<html" in html and "playground try" not in html
    assert html.index("how do I bake sourdough bread") < html.index("my card")
    no_intent = client.get(url, {"intent": "__none__"}).content.decode()
    assert "sourdough" in no_intent and "my card" not in no_intent
    fragment = client.get(
        url, {"channel": "all", "text": "playground"}, headers={"HX-Request": "true"}
    )
    body = fragment.content.decode()
    assert "<html" not in body and 'id="results"' in body and "playground try" in body
    low = client.get(url, {"confidence_max": "0.5", "stage": "embedding"}).content.decode()
    assert "my card" in low and "where is my parcel" not in low


def test_decision_browser_pages_with_a_cursor(client, viewer, demo_router, route_logged):
    for n in range(3):
        route_logged(demo_router, f"where is my parcel number {n}")
    _login(client, viewer)
    url = reverse("review:decisions", args=["support"])
    from analytics.review import selectors

    rows, cursor = selectors.decisions_page(demo_router, selectors.DecisionFilter(), limit=2)
    assert [r.query for r in rows] == ["where is my parcel number 2", "where is my parcel number 1"]
    older = client.get(url, {"cursor": cursor}).content.decode()
    assert "number 0" in older and "number 2" not in older
    bad = client.get(url, {"cursor": "nonsense"})
    assert bad.status_code == 302


def test_feedback_filter_finds_thumbs_down(client, operator, logged):
    _login(client, operator)
    decision_id = logged["where is my parcel"]
    client.post(
        reverse("review:decision_feedback", args=["support", decision_id]),
        {"rating": "down", "comment": "wrong", "expected_intent": "complaint"},
    )
    url = reverse("review:decisions", args=["support"])
    down = client.get(url, {"feedback": "down"}).content.decode()
    assert "where is my parcel" in down and "my card" not in down
    none = client.get(url, {"feedback": "none"}).content.decode()
    assert "where is my parcel" not in none and "my card" in none


def test_decision_page_renders_the_trace_feedback_and_attempts(client, viewer, logged):
    decision_id = logged["my card"]
    DecisionLog.objects.filter(pk=decision_id).update(
        attempts=[
            {
                "tier": "gpt-4o-mini",
                "model": "gpt-4o-mini",
                "provider": "openai",
                "outcome": "error",
                "latency_ms": 120.0,
                "ttft_ms": None,
                "prompt_tokens": None,
                "completion_tokens": None,
                "cost_usd": None,
                "error": "HTTP 503",
            },
            {
                "tier": "gpt-4o",
                "model": "gpt-4o",
                "provider": "openai",
                "outcome": "ok",
                "latency_ms": 640.0,
                "ttft_ms": 210.0,
                "prompt_tokens": 12,
                "completion_tokens": 30,
                "cost_usd": 0.0004,
                "error": "",
            },
        ],
        answer_tier="gpt-4o",
        escalations=1,
    )
    _login(client, viewer)
    html = client.get(reverse("review:decision", args=["support", decision_id])).content.decode()
    assert "Top intents: score vs threshold" in html  # the playground's score chart
    assert "Nearest examples" in html and "Stage trace" in html and "In-domain check" in html
    assert "Gateway attempts" in html and "HTTP 503" in html and "answered by gpt-4o" in html
    assert "ms in the console" not in html
    assert "Thumbs down" not in html  # viewers read only
    plain = client.get(reverse("review:decision", args=["support", logged["where is my parcel"]]))
    assert "Gateway attempts" not in plain.content.decode()


def test_operator_relabels_a_decision_and_sends_one_to_review(
    client, operator, logged, demo_router
):
    _login(client, operator)
    confident = logged["where is my parcel"]
    response = client.post(reverse("review:decision_send", args=["support", confident]))
    assert response.status_code == 302
    assert "manual" in ReviewDecision.objects.get(decision_id=confident).item.reasons
    client.post(
        reverse("review:decision_relabel", args=["support", logged["my card"]]),
        {"intent": "billing"},
    )
    assert Example.objects.get(intent__router=demo_router, text="my card").intent.name == "billing"


def test_queue_plain_and_fragment_and_one_action(client, operator, logged):
    _login(client, operator)
    url = reverse("review:queue", args=["support"])
    html = client.get(url).content.decode()
    assert "my card" in html and "how do I bake sourdough bread" in html
    assert 'data-key="1"' in html and 'data-key="a"' in html
    fragment = client.get(url, {"reason": "out_of_scope"}, headers={"HX-Request": "true"})
    body = fragment.content.decode()
    assert "<html" not in body and "sourdough" in body and "my card" not in body
    item = ReviewItem.objects.get(query="my card")
    swapped = client.post(
        reverse("review:resolve", args=["support", item.pk]),
        {"do": "relabel:billing", "next": url},
        headers={"HX-Request": "true"},
    )
    assert swapped.status_code == 200
    assert (
        "relabelled → billing" in swapped.content.decode()
        and "<html" not in swapped.content.decode()
    )
    plain = client.post(reverse("review:undo", args=["support", item.pk]), {"next": url})
    assert plain.status_code == 302 and plain["Location"] == url
    item.refresh_from_db()
    assert item.status == "open"


def test_bulk_form_resolves_the_selected_items(client, operator, logged):
    _login(client, operator)
    ids = list(ReviewItem.objects.values_list("pk", flat=True))
    client.post(reverse("review:bulk", args=["support"]), {"item": ids, "do": "out_of_scope"})
    assert set(ReviewItem.objects.values_list("status", flat=True)) == {"out_of_scope"}


def test_item_page_shows_the_audit_trail(client, operator, logged):
    _login(client, operator)
    item = ReviewItem.objects.get(query="my card")
    client.post(reverse("review:resolve", args=["support", item.pk]), {"do": "confirm"})
    html = client.get(reverse("review:item", args=["support", item.pk])).content.decode()
    assert "Audit trail" in html and "olivia" in html and "confirm" in html


def test_quality_page_and_cell(client, operator, logged):
    _login(client, operator)
    item = ReviewItem.objects.get(query="my card")
    client.post(reverse("review:resolve", args=["support", item.pk]), {"do": "relabel:billing"})
    html = client.get(reverse("review:quality", args=["support"])).content.decode()
    assert "Confusion matrix of reviewed decisions" in html and "plotly_click" in html
    cell = client.get(
        reverse("review:cell", args=["support"]), {"reviewed": "billing", "decided": "small_talk"}
    )
    assert "my card" in cell.content.decode()


def test_labels_page_and_csv(client, viewer, operator, logged):
    from analytics.review.services import review_resolve

    review_resolve(
        item=ReviewItem.objects.get(query="my card"),
        action="relabel",
        intent="billing",
        user=operator,
    )
    _login(client, viewer)
    csv = client.get(reverse("review:labels", args=["support"]), {"format": "csv"}).content.decode()
    assert csv.splitlines()[0] == "text,intent,reviewer,reviewed_at"
    assert csv.splitlines()[1].startswith("my card,billing,olivia,")


@pytest.mark.parametrize(
    "name", ["review:decisions", "review:queue", "review:quality", "review:labels"]
)
def test_outsiders_see_nothing(client, outsider, demo_router, name):
    _login(client, outsider)
    assert client.get(reverse(name, args=["support"])).status_code == 403


def test_viewers_cannot_act(client, viewer, logged):
    _login(client, viewer)
    item = ReviewItem.objects.get(query="my card")
    assert (
        client.post(
            reverse("review:resolve", args=["support", item.pk]), {"do": "confirm"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            reverse("review:decision_feedback", args=["support", logged["my card"]]),
            {"rating": "down"},
        ).status_code
        == 403
    )
    assert Feedback.objects.count() == 0
    html = client.get(reverse("review:queue", args=["support"])).content.decode()
    assert 'data-key="a"' not in html


@pytest.mark.parametrize("name", ["review:quality", "review:labels", "review:queue"])
def test_pages_answer_htmx_requests_too(client, viewer, logged, name):
    _login(client, viewer)
    url = reverse(name, args=["support"])
    assert client.get(url).status_code == 200
    assert client.get(url, headers={"HX-Request": "true"}).status_code == 200


def test_item_page_plain_and_htmx(client, viewer, logged):
    _login(client, viewer)
    item = ReviewItem.objects.get(query="my card")
    url = reverse("review:item", args=["support", item.pk])
    for headers in ({}, {"HX-Request": "true"}):
        html = client.get(url, headers=headers).content.decode()
        assert "Decisions in this item (1)" in html


def test_another_routers_item_is_not_found(client, operator, logged):
    from routing.services.versioning import router_create

    router_create(slug="other", name="Other")
    _login(client, operator)
    item = ReviewItem.objects.get(query="my card")
    assert client.get(reverse("review:item", args=["other", item.pk])).status_code == 404
    response = client.post(reverse("review:resolve", args=["other", item.pk]), {"do": "confirm"})
    assert response.status_code == 404
