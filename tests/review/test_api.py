"""The review API end to end: URL, key auth and scope, router limits, paging, errors, resolve."""

from __future__ import annotations

import pytest

from analytics.review.models import ReviewDecision, ReviewItem
from routing.decide import decide
from routing.models import Router
from routing.services.versioning import router_create
from tests.review.conftest import error_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def items(demo_router, route_logged) -> list[ReviewItem]:
    queries = ["my card", "money", "how do I bake sourdough bread"]
    return [
        ReviewDecision.objects.get(decision_id=route_logged(demo_router, q)).item for q in queries
    ]


def test_list_answers_the_open_items_newest_first(client_for, items):
    api = client_for(scopes=["review"])
    response = api.get("routers/support/review")
    assert response.status_code == 200
    body = response.json()
    assert [item["query"] for item in body["items"]] == [i.query for i in reversed(items)]
    first = body["items"][-1]
    assert set(first) == {
        "id",
        "decision_id",
        "query",
        "reasons",
        "decided_intent",
        "suggested_intent",
        "status",
        "count",
        "reviewed_intent",
    }
    assert (first["reasons"], first["decided_intent"], first["count"]) == (
        ["low_confidence"],
        "small_talk",
        1,
    )
    assert body["next"] is None


def test_list_filters_by_reason_and_pages_with_the_cursor(client_for, items):
    api = client_for(scopes=["review"])
    oos = api.get("routers/support/review", {"reason": "out_of_scope"}).json()
    assert [item["query"] for item in oos["items"]] == ["how do I bake sourdough bread"]
    page = api.get("routers/support/review", {"limit": 2}).json()
    assert len(page["items"]) == 2 and page["next"] == page["items"][-1]["id"]
    rest = api.get("routers/support/review", {"limit": 2, "cursor": page["next"]}).json()
    assert [item["query"] for item in rest["items"]] == ["my card"]
    assert rest["next"] is None


def test_resolve_add_example_answers_the_item_and_the_new_version(client_for, items, demo_router):
    api = client_for(scopes=["review"])
    demo_router.refresh_from_db()
    response = api.post(
        f"review/{items[0].pk}/resolve", {"action": "add_example", "intent": "billing"}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["reviewed_intent"], body["router_version"]) == (
        "added",
        "billing",
        demo_router.version + 1,
    )
    event = items[0].events.get()
    assert event.author_label == "key test key" and event.user is None
    # The API answers from the previous version while the new one compiles; decide() waits.
    demo_router.refresh_from_db()
    assert decide(router=demo_router, query="my card").intent == "billing"


def test_resolve_confirm_and_out_of_scope_make_no_version(client_for, items):
    api = client_for(scopes=["review"])
    confirm = api.post(f"review/{items[0].pk}/resolve", {"action": "confirm"}).json()
    assert (confirm["status"], confirm["reviewed_intent"], confirm["router_version"]) == (
        "confirmed",
        "small_talk",
        None,
    )
    oos = api.post(f"review/{items[1].pk}/resolve", {"action": "out_of_scope"}).json()
    assert (oos["status"], oos["reviewed_intent"]) == ("out_of_scope", None)
    listed = api.get("routers/support/review", {"status": "all"}).json()["items"]
    assert {item["status"] for item in listed} == {"confirmed", "out_of_scope", "open"}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"action": "relabel"}, 422, "invalid"),
        ({"action": "relabel", "intent": "nope"}, 422, "invalid"),
        ({"action": "shrug"}, 422, "validation_error"),
        ({"action": "confirm", "extra": 1}, 422, "validation_error"),
    ],
)
def test_resolve_refuses_bad_input_in_the_error_shape(client_for, items, body, status, code):
    response = client_for(scopes=["review"]).post(f"review/{items[0].pk}/resolve", body)
    assert response.status_code == status
    assert error_of(response)["code"] == code


def test_scope_router_limits_and_unknown_ids(client_for, items, make_key):
    other = router_create(slug="other", name="Other")
    assert error_of(client_for(scopes=["route"]).get("routers/support/review"))["code"] == (
        "permission_denied"
    )
    limited = client_for(scopes=["review"], routers=[other])
    assert limited.get("routers/support/review").status_code == 403
    assert limited.post(f"review/{items[0].pk}/resolve", {"action": "confirm"}).status_code == 403
    api = client_for(scopes=["review"])
    assert api.get("routers/nope/review").status_code == 404
    missing = api.post("review/999999/resolve", {"action": "confirm"})
    assert (missing.status_code, error_of(missing)["code"]) == (404, "not_found")
    assert api.post(f"review/{2**70}/resolve", {"action": "confirm"}).status_code == 422
    assert api.get("routers/support/review", {"reason": "bogus"}).status_code == 422
    assert (
        client_for(scopes=["review"]).client.get("/api/v1/routers/support/review").status_code
        == 401
    )
    assert Router.objects.count() == 2


def test_api_thumbs_down_is_in_the_queue_at_once(client_for, demo_router):
    api = client_for(scopes=["route", "feedback", "review"])
    decision = api.post("routers/support/route", {"query": "where is my parcel"}).json()
    response = api.post(
        f"decisions/{decision['decision_id']}/feedback",
        {"rating": "down", "expected_intent": "complaint"},
    )
    assert response.status_code == 200
    [item] = api.get("routers/support/review", {"reason": "thumbs_down"}).json()["items"]
    assert (item["decision_id"], item["suggested_intent"]) == (decision["decision_id"], "complaint")
