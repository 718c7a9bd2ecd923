from dataclasses import replace

import pytest

from routing.engine import ChatIntentLLM, IntentSpec, LLMStageError, Policy, compile_router
from routing.engine.llm_stage import (
    BUDGET_EXHAUSTED,
    LLM_MAX_CONCURRENCY,
    TIER_COOLING,
    CooldownIntentLLM,
    parse_intent_reply,
)
from routing.providers import OpenAIChatClient
from tests.engine.conftest import make_snapshot
from tests.wire.openai_server import ChatReply

# The band covers every confidence, so the LLM stage always runs.
ALWAYS_AMBIGUOUS = Policy(method="centroid", threshold=0.45, ambiguity_low=0.0, ambiguity_high=1.01)


@pytest.fixture
def llm(openai_server):
    chat = OpenAIChatClient(model="judge-mini", api_key="test-key", base_url=openai_server.base_url)
    return ChatIntentLLM(chat)


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
    assert parse_intent_reply('```json\n{"intent": "billing"}\n```', intents) == "billing"
    for bad in ("", "[]", '{"intent": 3}', '{"intent": "Billing"}'):
        with pytest.raises(LLMStageError):
            parse_intent_reply(bad, intents)


def _refused_llm():
    # Port 9 (discard) on localhost: nothing listens, so the connection is refused.
    chat = OpenAIChatClient(model="judge-mini", api_key="test", base_url="http://127.0.0.1:9/v1")
    return ChatIntentLLM(chat)


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        ("refused", "LLM call failed"),
        (ChatReply(content="{}", delay_seconds=2), "timed out"),
        (ChatReply(content="billing, I think"), "not JSON"),
        (ChatReply(status=503), "HTTP error 503"),
    ],
)
def test_failed_llm_keeps_an_embedding_answer_that_cleared_its_threshold(
    encoder, llm, openai_server, failure, reason
):
    router = compile_router(
        make_snapshot(encoder, policy=replace(ALWAYS_AMBIGUOUS, llm_timeout_seconds=0.3))
    )
    if failure == "refused":
        llm = _refused_llm()
    else:
        openai_server.chat_replies.append(failure)
    query = "i was charged twice on my card this month"
    without_llm = router.route(query, encoder=encoder)
    assert (without_llm.intent, without_llm.stage) == ("billing", "embedding")

    decision = router.route(query, encoder=encoder, llm=llm)

    assert (decision.intent, decision.stage) == ("billing", "embedding")
    assert decision.tier == without_llm.tier
    llm_stage = next(s for s in decision.trace.stages if s.stage == "llm")
    assert llm_stage.outcome.startswith("failed") and reason in llm_stage.outcome
    assert any(
        reason in note and "kept the embedding answer billing" in note
        for note in decision.trace.notes
    )


def test_degraded_decisions_are_not_cached(encoder, openai_server, llm):
    from routing.engine import LocalDecisionCache

    router = compile_router(make_snapshot(encoder, policy=ALWAYS_AMBIGUOUS))
    cache = LocalDecisionCache()
    openai_server.chat_replies.append(ChatReply(status=500))
    query = "i was charged twice on my card this month"

    router.route(query, encoder=encoder, llm=llm, cache=cache)
    openai_server.chat_replies.append(ChatReply(content='{"intent": "billing"}'))
    again = router.route(query, encoder=encoder, llm=llm, cache=cache)

    assert not again.cached and again.stage == "llm"


HANGING = ChatReply(content='{"intent": "billing"}', delay_seconds=3)
BATCH = [f"question number {i} about my card being charged twice" for i in range(40)]


def test_hanging_llm_tier_costs_one_wave_of_timeouts_then_cools_down(encoder, llm, openai_server):
    openai_server.default_chat_reply = HANGING
    # 1 s: long enough for the pool's 8 threads to all be in flight before the first times out.
    policy = replace(ALWAYS_AMBIGUOUS, llm_timeout_seconds=1.0, llm_budget_seconds=10.0)
    router = compile_router(make_snapshot(encoder, policy=policy))
    cooling = CooldownIntentLLM(llm, cooldown_seconds=600)

    decisions = router.route_batch(BATCH, encoder=encoder, llm=cooling)

    outcomes = [next(s for s in d.trace.stages if s.stage == "llm").outcome for d in decisions]
    calls = sum(o.startswith("failed: LLM timed out") for o in outcomes)
    assert calls == LLM_MAX_CONCURRENCY  # one concurrent wave, not one timeout per query
    assert outcomes.count(TIER_COOLING) == len(BATCH) - calls
    assert all(d.intent == "billing" and d.stage == "embedding" for d in decisions)
    assert cooling.cooling()

    again = router.route_batch(BATCH[:5], encoder=encoder, llm=cooling)

    # No new call (the server may log a request of the wave after the client gave up on it).
    assert len(openai_server.requests_to("/v1/chat/completions")) <= calls
    assert [next(s for s in d.trace.stages if s.stage == "llm").outcome for d in again] == [
        TIER_COOLING
    ] * 5
    assert all(any(TIER_COOLING in note for note in d.trace.notes) for d in again)


def test_batch_gives_up_on_the_llm_after_the_total_budget(encoder, llm, openai_server):
    openai_server.default_chat_reply = HANGING
    policy = replace(
        ALWAYS_AMBIGUOUS, threshold=0.99, llm_timeout_seconds=2.0, llm_budget_seconds=0.3
    )
    router = compile_router(make_snapshot(encoder, policy=policy))

    decisions = router.route_batch(BATCH, encoder=encoder, llm=llm)

    assert len(openai_server.requests_to("/v1/chat/completions")) <= LLM_MAX_CONCURRENCY
    outcomes = [next(s for s in d.trace.stages if s.stage == "llm").outcome for d in decisions]
    assert outcomes.count(BUDGET_EXHAUSTED) >= len(BATCH) - LLM_MAX_CONCURRENCY
    assert all(o == BUDGET_EXHAUSTED or "timed out" in o for o in outcomes)
    # No embedding answer cleared 0.99: an exhausted budget is a failure, so the fallback tier.
    assert all(d.stage == "fallback" and d.tier == "middle" for d in decisions)
    assert decisions[-1].trace.fallback_reason == BUDGET_EXHAUSTED


def test_cooldown_ends_with_one_probe_that_closes_it(encoder, llm, openai_server):
    router = compile_router(make_snapshot(encoder, policy=ALWAYS_AMBIGUOUS))
    cooling = CooldownIntentLLM(llm, cooldown_seconds=0.0)
    openai_server.chat_replies.extend(
        [ChatReply(status=500), ChatReply(content='{"intent": "billing"}')]
    )

    failed = router.route("my ticket cost too much", encoder=encoder, llm=cooling)
    probed = router.route("my ticket cost too much please", encoder=encoder, llm=cooling)

    assert "HTTP error 500" in failed.trace.notes[-1]
    assert probed.stage == "llm" and not cooling.cooling()


def test_unusable_reply_does_not_cool_the_tier_down(encoder, llm, openai_server):
    router = compile_router(make_snapshot(encoder, policy=ALWAYS_AMBIGUOUS))
    cooling = CooldownIntentLLM(llm, cooldown_seconds=600)
    openai_server.chat_replies.append(ChatReply(content="not json"))

    router.route("my ticket cost too much", encoder=encoder, llm=cooling)

    assert not cooling.cooling()
