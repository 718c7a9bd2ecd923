from dataclasses import replace

import pytest

from routing.engine import IntentSpec, LLMStageError, OpenAIChatIntentLLM, Policy, compile_router
from routing.engine.llm_stage import parse_intent_reply
from tests.engine.conftest import make_snapshot
from tests.wire.openai_server import ChatReply

# The band covers every confidence, so the LLM stage always runs.
ALWAYS_AMBIGUOUS = Policy(method="centroid", threshold=0.45, ambiguity_low=0.0, ambiguity_high=1.01)


@pytest.fixture
def llm(openai_client):
    return OpenAIChatIntentLLM(openai_client, model="judge-mini")


@pytest.fixture(scope="module")
def ambiguous_router(encoder):
    return compile_router(make_snapshot(encoder, policy=ALWAYS_AMBIGUOUS))


@pytest.fixture(scope="module")
def unanswered_router(encoder):
    """Always ambiguous, and no embedding answer clears its threshold: only the LLM can answer."""
    return compile_router(make_snapshot(encoder, policy=replace(ALWAYS_AMBIGUOUS, threshold=0.99)))


def test_ambiguous_confidence_calls_the_llm_and_uses_its_intent(
    ambiguous_router, encoder, llm, openai_server
):
    openai_server.chat_replies.append(ChatReply(content='{"intent": "billing"}'))

    decision = ambiguous_router.route("my ticket cost too much", encoder=encoder, llm=llm)

    assert decision.intent == "billing"
    assert decision.stage == "llm"
    (request,) = openai_server.requests_to("/v1/chat/completions")
    assert request["model"] == "judge-mini"
    assert request["temperature"] == 0
    assert "billing: questions about billing" in request["messages"][0]["content"]
    assert request["messages"][1]["content"] == "my ticket cost too much"
    assert [s.stage for s in decision.trace.stages if s.stage == "llm"] == ["llm"]


def test_confidence_outside_the_band_does_not_call_the_llm(encoder, llm, openai_server):
    policy = Policy(method="centroid", threshold=0.45, ambiguity_low=0.0, ambiguity_high=0.01)
    router = compile_router(make_snapshot(encoder, policy=policy))

    decision = router.route("will it rain tomorrow", encoder=encoder, llm=llm)

    assert decision.stage == "embedding"
    assert openai_server.requests_to("/v1/chat/completions") == []


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (ChatReply(content="billing, I think"), "not JSON"),
        (ChatReply(content='{"intent": "astrology"}'), "unknown intent"),
        (ChatReply(content='{"answer": "billing"}'), '"intent" key'),
        (ChatReply(status=500), "HTTP error 500"),
        (ChatReply(raw_body="<html>bad gateway</html>"), "LLM stage failed"),
    ],
)
def test_malformed_or_failed_llm_reply_falls_back_with_the_reason(
    unanswered_router, encoder, llm, openai_server, reply, reason
):
    openai_server.chat_replies.append(reply)

    decision = unanswered_router.route("my ticket cost too much", encoder=encoder, llm=llm)

    assert decision.stage == "fallback"
    assert decision.trace.fallback_reason.startswith("LLM stage failed")
    assert reason in decision.trace.fallback_reason
    assert decision.tier == "middle"


def test_slow_llm_reply_times_out_and_falls_back(encoder, llm, openai_server):
    policy = Policy(
        method="centroid",
        ambiguity_low=0.0,
        ambiguity_high=1.01,
        llm_timeout_seconds=0.2,
        fallback_intent="billing",
        threshold=0.99,
    )
    router = compile_router(make_snapshot(encoder, policy=policy))
    openai_server.chat_replies.append(ChatReply(content='{"intent": "billing"}', delay_seconds=2))

    decision = router.route("my ticket cost too much", encoder=encoder, llm=llm)

    assert decision.stage == "fallback"
    assert decision.intent == "billing"
    assert "timed out" in decision.trace.fallback_reason
    assert decision.latency_ms < 1500


def test_llm_saying_none_of_these_falls_back(ambiguous_router, encoder, llm, openai_server):
    openai_server.chat_replies.append(ChatReply(content='{"intent": null}'))

    decision = ambiguous_router.route("what is love", encoder=encoder, llm=llm)

    assert decision.stage == "fallback"
    assert decision.intent is None
    assert decision.trace.fallback_reason == "LLM stage found no matching intent"


def test_any_exception_from_a_custom_llm_is_contained(unanswered_router, encoder):
    class BrokenLLM:
        def classify(self, query, intents, *, timeout):
            raise RuntimeError("socket exploded")

    decision = unanswered_router.route("my ticket cost too much", encoder=encoder, llm=BrokenLLM())

    assert decision.stage == "fallback"
    assert "socket exploded" in decision.trace.fallback_reason


def test_parse_intent_reply_accepts_known_names_and_null_only():
    intents = [IntentSpec("billing", "h")]

    assert parse_intent_reply('{"intent": "billing"}', intents) == "billing"
    assert parse_intent_reply('{"intent": null}', intents) is None
    for bad in ("", "[]", '{"intent": 3}', '{"intent": "Billing"}'):
        with pytest.raises(LLMStageError):
            parse_intent_reply(bad, intents)
