"""The Django glue sends ambiguous queries to the cheapest callable tier of any provider (real SDKs,
local servers), within the request's LLM budget."""

from dataclasses import replace
from decimal import Decimal

import pytest

from routing.decide import decide, decide_batch
from routing.engine.llm_stage import LLM_MAX_CONCURRENCY, TIER_COOLING
from routing.models import ModelTier
from routing.services.versioning import config_object_save, router_policy_update
from routing.snapshots import compiled_router
from tests.wire.anthropic_server import MessageReply
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
    # No embedding answer clears 0.99, so nothing is left to keep when the LLM fails.
    router_policy_update(router=router_with_llm_tier, changes={"threshold": 0.99})
    router_with_llm_tier.refresh_from_db()
    openai_server.default_chat_reply = ChatReply(content="sure! it's billing")
    decision = decide(router=router_with_llm_tier, query="why is there a second charge on my card")
    assert decision.stage == "fallback"
    assert decision.tier != "gpt-4o-mini"
    assert "llm" in decision.trace.fallback_reason.lower()


def test_without_band_no_llm_call_is_made(demo_router, openai_server):
    decide(router=demo_router, query="why is there a second charge on my card")
    assert openai_server.requests_to("/v1/chat/completions") == []


def _tier(router, **fields) -> ModelTier:
    tier = ModelTier(
        router=router,
        rank=0,
        price_in_per_mtok=Decimal("0.01"),
        price_out_per_mtok=Decimal("0.02"),
        quality=0.3,
        **fields,
    )
    config_object_save(obj=tier)
    return tier


def _always_ambiguous(router):
    router_policy_update(router=router, changes={"ambiguity_low": 0.0, "ambiguity_high": 1.0})
    router.refresh_from_db()
    return router


def _saved_policy(router, **changes):
    """The router's saved policy with engine-only fields changed (timeouts, budget)."""
    return replace(compiled_router(router).snapshot.policy, **changes)


def test_unreachable_llm_tier_keeps_the_embedding_answer_that_cleared(demo_router):
    # Port 9 on localhost: connection refused.
    _tier(
        demo_router,
        name="down",
        provider="openai-compatible",
        model="x",
        base_url="http://127.0.0.1:9/v1",
    )
    router = _always_ambiguous(demo_router)
    query = "why was I charged twice, sis"

    decision = decide(
        router=router, query=query, policy=_saved_policy(router, llm_timeout_seconds=0.5)
    )

    assert (decision.intent, decision.stage) == ("billing", "embedding")
    assert decision.trace.fallback_reason == ""
    assert any(
        "LLM stage failed" in note and "kept the embedding answer billing" in note
        for note in decision.trace.notes
    )


def test_anthropic_only_deployment_runs_the_llm_stage(demo_router, anthropic_server, monkeypatch):
    monkeypatch.setenv("SEMROUTE_KEY_LOCAL_CLAUDE", "test-key")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    _tier(
        demo_router,
        name="local-claude",
        provider="anthropic",
        model="claude-haiku-local",
        base_url=anthropic_server.base_url,
        api_key_env="SEMROUTE_KEY_LOCAL_CLAUDE",
    )
    router = _always_ambiguous(demo_router)
    anthropic_server.default_reply = MessageReply(text='{"intent": "refund"}')

    decision = decide(router=router, query="I was charged twice, what now?")

    assert (decision.stage, decision.intent) == ("llm", "refund")
    [request] = anthropic_server.requests_to("/v1/messages")
    assert request["model"] == "claude-haiku-local"
    assert "refund:" in request["system"] and request["messages"][0]["role"] == "user"


def test_hanging_llm_tier_costs_a_batch_one_wave_then_a_cooldown(
    router_with_llm_tier, openai_server
):
    router = router_with_llm_tier
    # 1 s: long enough for the pool's 8 threads to all be in flight before the first times out.
    policy = _saved_policy(router, llm_timeout_seconds=1.0, llm_budget_seconds=5.0)
    openai_server.default_chat_reply = ChatReply(content='{"intent": "refund"}', delay_seconds=3)
    queries = [f"second charge on my card, case {i}" for i in range(40)]

    decisions = decide_batch(router=router, queries=queries, policy=policy)

    outcomes = [next(s.outcome for s in d.trace.stages if s.stage == "llm") for d in decisions]
    timed_out = sum(o.startswith("failed: LLM timed out") for o in outcomes)
    # One concurrent wave (the pool's width) timed out; every later query skipped the tier.
    assert timed_out == LLM_MAX_CONCURRENCY
    assert outcomes.count(TIER_COOLING) == 40 - timed_out
    assert all(d.stage != "llm" for d in decisions)

    later = decide_batch(
        router=router, queries=[f"refund case {i}" for i in range(10)], policy=policy
    )

    # The server saw that one wave only (it may log a request after the client gave up on it).
    assert len(openai_server.requests_to("/v1/chat/completions")) <= timed_out
    assert all(
        next(s.outcome for s in d.trace.stages if s.stage == "llm") == TIER_COOLING for d in later
    )


@pytest.mark.parametrize("variable", ["SECRET_KEY", "DATABASE_URL", "SEMROUTE_ADMIN_PASSWORD"])
def test_a_tier_naming_a_server_secret_never_sends_it(
    router_with_llm_tier, openai_server, monkeypatch, settings, variable
):
    # A tier stored before the allow-list existed (validation bypassed) still cannot leak it.
    secret = "server-secret-" + variable.lower()
    monkeypatch.setenv(variable, secret)
    ModelTier.objects.filter(router=router_with_llm_tier, name="local-llm").update(
        api_key_env=variable
    )
    router_policy_update(router=router_with_llm_tier, changes={"threshold": 0.41})
    router_with_llm_tier.refresh_from_db()
    openai_server.default_chat_reply = ChatReply(content='{"intent": "refund"}')
    decision = decide(router=router_with_llm_tier, query="I was charged twice, what now?")
    assert decision.stage == "llm"  # the tier was called, without the variable's value
    assert openai_server.authorizations
    assert all(secret not in header for header in openai_server.authorizations)
    assert all(settings.SECRET_KEY not in header for header in openai_server.authorizations)
