import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.decision_log import decision_log
from analytics.models import DecisionLog, Feedback
from tests.api.conftest import error_of

pytestmark = pytest.mark.django_db


def _route(client, router, query="where is my order?"):
    response = client.post(f"routers/{router.slug}/route", {"query": query})
    assert response.status_code == 200, response.content
    return response.json()


def test_feedback_works_while_the_decision_is_still_buffered(api, demo_router):
    decision = _route(api, demo_router)
    assert not DecisionLog.objects.exists()
    response = api.post(
        f"decisions/{decision['decision_id']}/feedback", {"rating": "down", "comment": "wrong"}
    )
    assert response.status_code == 200, response.content
    assert response.json()["created"] is True
    assert Feedback.objects.get().rating == "down"


def test_feedback_is_idempotent_per_decision_and_key(api, client_for, demo_router):
    decision = _route(api, demo_router)
    decision_log.flush()
    path = f"decisions/{decision['decision_id']}/feedback"
    assert api.post(path, {"rating": "down"}).json()["created"] is True
    second = api.post(path, {"rating": "up", "comment": "actually fine"}).json()
    assert second["created"] is False and second["rating"] == "up"
    assert Feedback.objects.count() == 1
    client_for(scopes=["feedback"]).post(path, {"rating": "down"})
    assert Feedback.objects.count() == 2  # another key is another voice


def test_feedback_expected_intent_must_exist(api, demo_router):
    decision = _route(api, demo_router)
    response = api.post(
        f"decisions/{decision['decision_id']}/feedback",
        {"rating": "down", "expected_intent": "nope"},
    )
    assert response.status_code == 422
    assert error_of(response)["details"][0]["field"] == "expected_intent"
    intent = demo_router.intents.first().name
    ok = api.post(
        f"decisions/{decision['decision_id']}/feedback",
        {"rating": "down", "expected_intent": intent},
    )
    assert ok.json()["expected_intent"] == intent


def test_feedback_on_unknown_decision_is_404(api, db, settings):
    decision_log.flush_seconds = (
        0.05  # the 404 waits for other workers' buffers; keep the test fast
    )
    try:
        response = api.post(f"decisions/{uuid.uuid4()}/feedback", {"rating": "up"})
        assert response.status_code == 404
        assert api.post("decisions/not-a-uuid/feedback", {"rating": "up"}).status_code == 404
    finally:
        decision_log.flush_seconds = 0.5


def test_feedback_bad_rating_is_422(api, demo_router):
    decision = _route(api, demo_router)
    response = api.post(f"decisions/{decision['decision_id']}/feedback", {"rating": "meh"})
    assert response.status_code == 422
    assert error_of(response)["details"][0]["field"] == "rating"


def test_feedback_needs_its_scope(client_for, api, demo_router):
    decision = _route(api, demo_router)
    response = client_for(scopes=["route"]).post(
        f"decisions/{decision['decision_id']}/feedback", {"rating": "up"}
    )
    assert response.status_code == 403


def test_decision_detail_includes_the_trace(api, demo_router):
    decision = _route(api, demo_router)
    decision_log.flush()
    response = api.get(f"decisions/{decision['decision_id']}")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == decision["decision_id"] and body["router"] == demo_router.slug
    assert body["intent"] == decision["intent"]
    assert "stages" in body["trace"]


def test_decision_detail_unknown_is_404(api, db):
    assert api.get(f"decisions/{uuid.uuid4()}").status_code == 404
    assert api.get("decisions/zzz").status_code == 404


def test_decisions_of_other_routers_are_403_for_restricted_keys(
    api, client_for, demo_router, demo_document
):
    from routing.services.config_apply import router_config_apply

    other = router_config_apply(document={**demo_document, "slug": "other"}).router
    decision = _route(api, demo_router)
    decision_log.flush()
    restricted = client_for(scopes=["decisions:read", "feedback"], routers=[other])
    assert restricted.get(f"decisions/{decision['decision_id']}").status_code == 403
    assert (
        restricted.post(
            f"decisions/{decision['decision_id']}/feedback", {"rating": "up"}
        ).status_code
        == 403
    )
    assert restricted.get("decisions", {"router": demo_router.slug}).status_code == 403
    assert restricted.get("decisions").json()["items"] == []


def test_decisions_list_filters_and_paginates_with_a_cursor(api, demo_router):
    sent = [
        _route(api, demo_router, f"where is my order number {i}?")["decision_id"] for i in range(7)
    ]
    decision_log.flush()
    # Spread creation times so the page order is well defined.
    now = timezone.now()
    for age, decision_id in enumerate(reversed(sent)):
        DecisionLog.objects.filter(pk=decision_id).update(created_at=now - timedelta(seconds=age))

    seen, cursor = [], None
    while True:
        params = {"router": demo_router.slug, "limit": 3, **({"cursor": cursor} if cursor else {})}
        page = api.get("decisions", params).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(sent))

    intent = DecisionLog.objects.first().intent
    filtered = api.get("decisions", {"intent": intent}).json()["items"]
    assert filtered and all(item["intent"] == intent for item in filtered)
    assert (
        api.get("decisions", {"since": (now + timedelta(minutes=1)).isoformat()}).json()["items"]
        == []
    )
    assert (
        len(
            api.get("decisions", {"until": (now - timedelta(seconds=3.5)).isoformat()}).json()[
                "items"
            ]
        )
        == 3
    )
    assert api.get("decisions", {"stage": "nonexistent"}).json()["items"] == []
    tier = DecisionLog.objects.first().tier
    assert all(i["tier"] == tier for i in api.get("decisions", {"tier": tier}).json()["items"])


def test_decisions_bad_cursor_is_422(api, db):
    response = api.get("decisions", {"cursor": "garbage!"})
    assert response.status_code == 422
    assert error_of(response)["details"][0]["field"] == "cursor"


def test_decisions_bad_limit_is_422(api, db):
    response = api.get("decisions", {"limit": 0})
    assert response.status_code == 422
    assert error_of(response)["details"][0]["field"] == "limit"


def test_decisions_need_their_scope(client_for, db):
    assert client_for(scopes=["route"]).get("decisions").status_code == 403
