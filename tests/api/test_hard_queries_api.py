"""The route API's hard-query fields end to end: context, secondary intents, language."""

from __future__ import annotations

import pytest

from analytics.decision_log import decision_log
from analytics.models import DecisionLog
from routing.engine import count_tokens
from routing.engine.context import RetrievedContext
from routing.exceptions import ContextTooLarge, InvalidInput
from routing.retrieved_context import (
    MAX_CONTEXT_CHARS,
    MAX_CONTEXT_DOCUMENTS,
    retrieved_context_parse,
)
from routing.services.versioning import router_policy_update
from routing.snapshots import compiled_router
from tests.api.conftest import error_of

pytestmark = pytest.mark.django_db

JOHNSON = [
    "Johnson & Co. signed the Team plan in March with 40 seats.",
    "Ticket 5521 from Johnson & Co.: SSO login failures after the Okta migration.",
    "Invoice INV-20931 for Johnson & Co. was reissued with a corrected VAT number.",
    "Johnson & Co. asked for volume pricing for 200 more seats.",
    "Account note: Johnson & Co. may churn over slow support.",
]


def test_a_context_raises_complexity_and_counts_in_the_cost(api, demo_router):
    path = f"routers/{demo_router.slug}/route"
    plain = api.post(path, {"query": "where is my parcel?"}).json()
    routed = api.post(
        path,
        {
            "query": "where is my parcel?",
            "context": {"documents": JOHNSON},
            "explain": True,
        },
    )
    assert routed.status_code == 200, routed.content
    decision = routed.json()

    assert plain["complexity"] != "complex"
    assert decision["complexity"] == "complex"  # five documents: the demo's documented threshold
    assert decision["tier"] == "claude-sonnet-4"
    context_tokens = sum(count_tokens(text) for text in JOHNSON)
    input_tokens = count_tokens("where is my parcel?") + context_tokens
    assert decision["estimated_cost_usd"] == pytest.approx((input_tokens * 3.0 + 900 * 15.0) / 1e6)
    outcomes = [
        stage["outcome"] for stage in decision["trace"]["stages"] if stage["stage"] == "context"
    ]
    assert outcomes == [
        f"complex (examples say {plain['complexity']}; context 5 documents, {context_tokens} tokens: at least complex)"
    ]


def test_a_context_may_be_given_as_counts(api, demo_router):
    response = api.post(
        f"routers/{demo_router.slug}/route",
        {"query": "What is your refund policy?", "context": {"documents": 2, "tokens": 9000}},
    )
    assert response.status_code == 200, response.content
    assert response.json()["complexity"] == "complex"


def test_a_batch_takes_one_context_per_query(api, demo_router):
    response = api.post(
        f"routers/{demo_router.slug}/route/batch",
        {
            "queries": ["What is your refund policy?", "What is your refund policy?"],
            "context": [None, {"documents": 6, "tokens": 100}],
        },
    )
    assert response.status_code == 200, response.content
    first, second = response.json()["decisions"]
    assert second["complexity"] == "complex"
    assert first["complexity"] != "complex"


def test_a_batch_context_list_must_match_the_queries(api, demo_router):
    response = api.post(
        f"routers/{demo_router.slug}/route/batch",
        {"queries": ["a", "b"], "context": [{"documents": 1, "tokens": 1}]},
    )
    assert response.status_code == 422
    error = error_of(response)
    assert error["details"] == {"field": "context", "expected": 2, "got": 1}
    assert "one entry per query (2), got 1" in error["message"]


@pytest.mark.parametrize(
    "context",
    [
        {"documents": "one text"},
        {"documents": 3},
        {"documents": ["a"], "tokens": 4},
        {"documents": -1, "tokens": 0},
        {"pages": 3},
    ],
)
def test_a_malformed_context_is_a_422_in_the_one_error_shape(api, demo_router, context):
    response = api.post(
        f"routers/{demo_router.slug}/route", {"query": "refund please", "context": context}
    )
    assert response.status_code == 422, response.content
    assert error_of(response)["code"] in {"invalid", "validation_error"}


def test_a_context_over_the_limits_is_a_413(api, demo_router):
    documents = ["x" * (MAX_CONTEXT_CHARS // 2)] * 2 + ["y"]
    response = api.post(
        f"routers/{demo_router.slug}/route",
        {"query": "refund please", "context": {"documents": documents}},
    )
    assert response.status_code == 413
    error = error_of(response)
    assert error["code"] == "context_too_large"
    assert error["details"]["chars"] == MAX_CONTEXT_CHARS + 1
    assert 'documents": N, "tokens": M} for larger ones' in error["message"]


def test_the_gateway_parses_a_raw_context_in_one_call():
    assert retrieved_context_parse(None) is None
    assert retrieved_context_parse({"documents": 4, "tokens": 12}) == RetrievedContext(4, 12)
    assert retrieved_context_parse({"documents": ["a b"]}) == RetrievedContext(
        1, count_tokens("a b")
    )
    with pytest.raises(InvalidInput) as invalid:
        retrieved_context_parse({"documents": [1]})
    assert invalid.value.details["problems"][0]["field"] == "context.documents.0"
    with pytest.raises(ContextTooLarge):
        retrieved_context_parse({"documents": ["a"] * (MAX_CONTEXT_DOCUMENTS + 1)})


def test_secondary_intents_and_language_reach_the_api_and_the_log(api, demo_router):
    plain = api.post(
        f"routers/{demo_router.slug}/route",
        {"query": "Where is my package? Also, why was I charged twice this month?"},
    ).json()
    assert (plain["secondary_intents"], plain["language"]) == ([], "")
    router = router_policy_update(
        router=demo_router, changes={"split_intents": True, "detect_language": True}
    )
    compiled_router(router)  # the API serves the previous version while a new one compiles

    split = api.post(
        f"routers/{demo_router.slug}/route",
        {
            "query": "Where is my package? Also, why was I charged twice this month?",
            "explain": True,
        },
    ).json()
    spanish = api.post(
        f"routers/{demo_router.slug}/route", {"query": "hola, necesito ayuda con mi factura"}
    ).json()

    assert (split["intent"], split["language"]) == ("billing", "en")
    assert split["secondary_intents"] == [
        {
            "intent": "shipping",
            "confidence": pytest.approx(split["trace"]["parts"][0]["confidence"]),
            "text": "Where is my package?",
        }
    ]
    assert spanish["language"] == "es"
    assert spanish["tier"] == "gpt-4o"  # the demo's fallback tier
    assert decision_log.flush() == 3
    assert DecisionLog.objects.get(pk=spanish["decision_id"]).language == "es"
    logged = DecisionLog.objects.get(pk=split["decision_id"])
    assert logged.trace["secondary_intents"][0]["intent"] == "shipping"


def test_the_llm_stage_reason_is_a_stable_key_in_the_logged_trace(api, demo_router):
    compiled_router(router_policy_update(router=demo_router, changes={"detect_language": True}))
    api.post(f"routers/{demo_router.slug}/route", {"query": "Ich kann mich nicht mehr anmelden"})
    decision_log.flush()
    row = DecisionLog.objects.get()
    # No LLM tier has a key here, so the LLM stage is not configured: the unsupported-language
    # policy answered, and the trace says the LLM was not asked.
    assert row.trace["llm_reason"] == ""
    assert "unsupported-language policy" in row.trace["fallback_reason"]
    assert row.language == "de"
