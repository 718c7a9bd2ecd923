import pytest
from django.test import Client

from analytics.decision_log import decision_log
from analytics.models import DecisionLog
from tests.api.conftest import APIClient, error_of

pytestmark = pytest.mark.django_db


def test_route_returns_a_decision_with_its_id(api, demo_router):
    response = api.post(
        f"routers/{demo_router.slug}/route", {"query": "I want my money back for order 1234"}
    )
    assert response.status_code == 200, response.content
    decision = response.json()
    assert decision["router"] == demo_router.slug
    assert decision["router_version"] == demo_router.version
    assert decision["decision_id"]
    assert decision["trace"] is None
    for field in (
        "intent",
        "handler",
        "confidence",
        "stage",
        "complexity",
        "tier",
        "model",
        "provider",
        "estimated_cost_usd",
        "baseline_cost_usd",
        "cached",
        "latency_ms",
        "calibrated",
    ):
        assert field in decision


def test_route_logs_the_decision_under_its_id(api, demo_router):
    response = api.post(
        f"routers/{demo_router.slug}/route",
        {
            "query": "where is my parcel?",
            "user_id": "u-1",
            "session_id": "s-1",
            "metadata": {"app": "web"},
        },
    )
    decision_id = response.json()["decision_id"]
    assert (
        not DecisionLog.objects.exists()
    )  # still in the buffer: the response did not wait for the write
    assert decision_log.flush() == 1
    row = DecisionLog.objects.get(pk=decision_id)
    assert (row.router_id, row.user_ref, row.session_ref, row.metadata, row.channel) == (
        demo_router.pk,
        "u-1",
        "s-1",
        {"app": "web"},
        "api",
    )
    assert row.intent == response.json()["intent"]


def test_explain_adds_the_trace(api, demo_router):
    response = api.post(
        f"routers/{demo_router.slug}/route", {"query": "reset my password please", "explain": True}
    )
    trace = response.json()["trace"]
    assert trace["stages"]
    assert trace["top_intents"]


def test_mixed_languages_and_emoji_are_fine(api, demo_router):
    response = api.post(
        f"routers/{demo_router.slug}/route",
        {"query": "Où est ma commande? 📦 我的订单在哪里 " * 20},
    )
    assert response.status_code == 200


def test_bearer_authorization_works(make_key, demo_router):
    client = APIClient(make_key(), bearer=True)
    assert client.post(f"routers/{demo_router.slug}/route", {"query": "hello"}).status_code == 200


def test_missing_key_is_401(demo_router):
    response = APIClient().post(f"routers/{demo_router.slug}/route", {"query": "hello"})
    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"


def test_unknown_key_is_401(demo_router):
    response = APIClient("sr_nothing_real").post(
        f"routers/{demo_router.slug}/route", {"query": "hello"}
    )
    assert response.status_code == 401


def test_revoked_key_is_401(make_key, demo_router):
    from routing.auth import principals_forget
    from routing.models import APIKey
    from routing.services.api_keys import api_key_revoke

    client = APIClient(make_key(name="soon revoked"))
    assert client.post(f"routers/{demo_router.slug}/route", {"query": "hello"}).status_code == 200
    api_key_revoke(key=APIKey.objects.get(name="soon revoked"))
    principals_forget()  # other workers forget it within KEY_CACHE_SECONDS
    assert client.post(f"routers/{demo_router.slug}/route", {"query": "hello"}).status_code == 401


def test_wrong_scope_is_403(client_for, demo_router):
    client = client_for(scopes=["feedback"])
    response = client.post(f"routers/{demo_router.slug}/route", {"query": "hello"})
    assert response.status_code == 403
    assert error_of(response)["details"]["required_scope"] == "route"


def test_key_restricted_to_other_routers_is_403(client_for, demo_router, demo_document):
    from routing.services.config_apply import router_config_apply

    other = router_config_apply(document={**demo_document, "slug": "other"}).router
    client = client_for(routers=[other])
    assert client.post("routers/other/route", {"query": "hello"}).status_code == 200
    response = client.post(f"routers/{demo_router.slug}/route", {"query": "hello"})
    assert response.status_code == 403
    assert error_of(response)["code"] == "permission_denied"


def test_unknown_router_is_404(api, db):
    response = api.post("routers/nope/route", {"query": "hello"})
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_malformed_json_is_400(api, demo_router):
    response = api.post(f"routers/{demo_router.slug}/route", raw='{"query": "unterminated')
    assert response.status_code == 400
    assert error_of(response)["code"] == "malformed_request"


def test_query_longer_than_the_limit_is_413(api, demo_router, settings):
    settings.SEMROUTE_MAX_QUERY_CHARS = 50
    assert api.post(f"routers/{demo_router.slug}/route", {"query": "x" * 50}).status_code == 200
    response = api.post(f"routers/{demo_router.slug}/route", {"query": "x" * 51})
    assert response.status_code == 413
    assert error_of(response)["details"]["max_chars"] == 50


def test_schema_errors_are_422_naming_the_field(api, demo_router):
    response = api.post(f"routers/{demo_router.slug}/route", {"query": 12, "explain": "maybe"})
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert {problem["field"] for problem in error["details"]} == {"query", "explain"}


def test_missing_query_is_422(api, demo_router):
    response = api.post(f"routers/{demo_router.slug}/route", {})
    assert response.status_code == 422
    assert error_of(response)["details"][0]["field"] == "query"


def test_empty_body_is_422_not_500(api, demo_router):
    response = api.post(f"routers/{demo_router.slug}/route", raw="")
    assert response.status_code in (400, 422)
    error_of(response)


def test_non_object_body_is_422(api, demo_router):
    response = api.post(f"routers/{demo_router.slug}/route", ["a", "b"])
    assert response.status_code == 422
    error_of(response)


def test_batch_keeps_order_and_logs_each(api, demo_router):
    queries = ["reset my password", "where is my order", "refund please", "reset my password"]
    response = api.post(f"routers/{demo_router.slug}/route/batch", {"queries": queries})
    assert response.status_code == 200, response.content
    decisions = response.json()["decisions"]
    assert len(decisions) == 4
    singles = [
        api.post(f"routers/{demo_router.slug}/route", {"query": q}).json()["intent"]
        for q in queries
    ]
    assert [d["intent"] for d in decisions] == singles
    assert len({d["decision_id"] for d in decisions}) == 4
    decision_log.flush()
    assert DecisionLog.objects.filter(channel="batch").count() == 4


def test_batch_is_limited_to_256(api, demo_router):
    assert (
        api.post(f"routers/{demo_router.slug}/route/batch", {"queries": ["hi"] * 256}).status_code
        == 200
    )
    response = api.post(f"routers/{demo_router.slug}/route/batch", {"queries": ["hi"] * 257})
    assert response.status_code == 422
    assert error_of(response)["details"][0]["field"] == "queries"


def test_batch_item_too_long_is_413_with_its_index(api, demo_router, settings):
    settings.SEMROUTE_MAX_QUERY_CHARS = 10
    response = api.post(f"routers/{demo_router.slug}/route/batch", {"queries": ["short", "x" * 11]})
    assert response.status_code == 413
    assert error_of(response)["details"]["index"] == 1


def test_last_used_time_is_written_at_most_once_a_minute(
    make_key, demo_router, django_assert_max_num_queries
):
    from routing.models import APIKey

    client = APIClient(make_key(name="used"))
    client.post(f"routers/{demo_router.slug}/route", {"query": "hello"})
    first = APIKey.objects.get(name="used").last_used_at
    assert first is not None
    client.post(f"routers/{demo_router.slug}/route", {"query": "hello again"})
    assert APIKey.objects.get(name="used").last_used_at == first


def test_plain_django_client_without_json_content_type_is_not_500(make_key, demo_router):
    response = Client().post(
        f"/api/v1/routers/{demo_router.slug}/route",
        "query=hello",
        content_type="text/plain",
        headers={"X-API-Key": make_key()},
    )
    assert response.status_code < 500


def _with_conversation_rule(api, router):
    document = api.get(f"routers/{router.slug}/config").json()
    document["rules"].append(
        {
            "kind": "keyword",
            "pattern": "production outage",
            "priority": 150,
            "action": "min_tier",
            "tier": "claude-sonnet-4",
            "scope": "conversation",
        }
    )
    response = api.put(f"routers/{router.slug}/config", document)
    assert response.json()["applied"] is True, response.content


def test_earlier_turns_reach_the_conversation_rules(api, demo_router):
    _with_conversation_rule(api, demo_router)
    path = f"routers/{demo_router.slug}/route"

    alone = api.post(path, {"query": "where is my parcel"}).json()
    follow_up = api.post(
        path,
        {
            "query": "where is my parcel",
            "earlier_turns": ["hi", "we have a production outage"],
            "explain": True,
        },
    ).json()

    assert alone["tier"] == "gpt-4o-mini"
    assert follow_up["tier"] == "claude-sonnet-4"
    assert "matched an earlier turn of the conversation" in " ".join(follow_up["trace"]["notes"])


def test_earlier_turns_are_bounded_like_queries(api, demo_router, settings):
    settings.SEMROUTE_MAX_QUERY_CHARS = 50
    path = f"routers/{demo_router.slug}/route"

    too_long = api.post(path, {"query": "hello", "earlier_turns": ["ok", "x" * 51]})
    too_many = api.post(path, {"query": "hello", "earlier_turns": ["turn"] * 21})
    not_text = api.post(path, {"query": "hello", "earlier_turns": "just one"})

    assert too_long.status_code == 413
    assert error_of(too_long)["details"] == {
        "field": "earlier_turns",
        "index": 1,
        "length": 51,
        "max_chars": 50,
    }
    assert too_many.status_code == 422 and not_text.status_code == 422
    assert {p["field"] for p in error_of(too_many)["details"]} == {"earlier_turns"}
