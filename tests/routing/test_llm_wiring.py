"""The Django glue sends ambiguous queries to the cheapest OpenAI-protocol tier (real SDK, local server)."""

from decimal import Decimal

import pytest

from routing.decide import decide
from routing.models import ModelTier
from routing.services.versioning import config_object_save, router_policy_update
from tests.wire.openai_server import ChatReply

pytestmark = pytest.mark.django_db


@pytest.fixture
def router_with_llm_tier(demo_router, openai_server):
    tier = ModelTier(
        router=demo_router,
        name="local-llm",
        rank=0,
        provider="openai-compatible",
        model="tiny",
        base_url=openai_server.base_url,
        price_in_per_mtok=Decimal("0.01"),
        price_out_per_mtok=Decimal("0.02"),
        quality=0.3,
    )
    config_object_save(obj=tier)
    # Every in-domain confidence falls inside the band, so the LLM stage always runs.
    router_policy_update(router=demo_router, changes={"ambiguity_low": 0.0, "ambiguity_high": 1.0})
    demo_router.refresh_from_db()
    return demo_router


def test_ambiguous_query_is_decided_by_the_llm_tier(router_with_llm_tier, openai_server):
    openai_server.default_chat_reply = ChatReply(content='{"intent": "refund"}')
    decision = decide(router=router_with_llm_tier, query="I was charged twice, what now?")
    assert decision.stage == "llm"
    assert decision.intent == "refund"
    [request] = openai_server.requests_to("/v1/chat/completions")
    assert request["model"] == "tiny" and request["temperature"] == 0


def test_malformed_llm_reply_degrades_to_fallback_not_an_error(router_with_llm_tier, openai_server):
    openai_server.default_chat_reply = ChatReply(content="sure! it's billing")
    decision = decide(router=router_with_llm_tier, query="why is there a second charge on my card")
    assert decision.stage == "fallback"
    assert decision.tier != "gpt-4o-mini"
    assert "llm" in decision.trace.fallback_reason.lower()


def test_without_band_no_llm_call_is_made(demo_router, openai_server):
    decide(router=demo_router, query="why is there a second charge on my card")
    assert openai_server.requests_to("/v1/chat/completions") == []
