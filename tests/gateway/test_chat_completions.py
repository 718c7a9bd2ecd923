"""The gateway through the real OpenAI SDK (client) against Django's live server, and the real
SDKs (upstream) against the local wire servers: answers, escalation, the 503, the decision log."""

import json
import time

import openai
import pytest

from routing.providers import breaker as breakers
from tests.gateway.conftest import (
    CARD,
    CLAUDE_KEY,
    FOUR_O,
    MINI,
    OPENAI_KEY,
    SIMPLE,
    SONNET,
    logged,
)
from tests.wire.anthropic_server import MessageReply
from tests.wire.openai_server import ChatReply


def _ask(client, text=SIMPLE, **options):
    return client.chat.completions.with_raw_response.create(
        model="support", messages=[{"role": "user", "content": text}], **options
    )


def test_the_routed_tier_answers_with_routing_facts_and_actual_cost(client, openai_server):
    openai_server.replies_for(MINI).append(
        ChatReply(content="We are open 9-5.", prompt_tokens=1000, completion_tokens=500)
    )

    raw = _ask(client)
    completion = raw.parse()

    assert completion.choices[0].message.content == "We are open 9-5."
    assert completion.model == MINI
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (1000, 500)
    facts = completion.model_extra["semroute"]
    assert (facts["tier"], facts["routed_tier"], facts["escalations"]) == ("gpt-4o-mini",) * 2 + (
        0,
    )
    assert raw.headers["x-semroute-tier"] == "gpt-4o-mini"
    assert raw.headers["x-semroute-escalations"] == "0"
    assert raw.headers["x-semroute-decision-id"] == facts["decision_id"]
    assert raw.headers["x-semroute-intent"] == (facts["intent"] or "")
    row = logged(facts["decision_id"])
    assert (row.channel, row.answer_tier, row.escalations) == ("gateway", "gpt-4o-mini", 0)
    # The demo's gpt-4o-mini prices: $0.15 / 1M in, $0.60 / 1M out.
    assert row.actual_cost_usd == pytest.approx(1000 * 0.15 / 1e6 + 500 * 0.60 / 1e6)
    assert (row.prompt_tokens, row.completion_tokens) == (1000, 500)
    [attempt] = row.attempts
    assert (attempt["tier"], attempt["model"], attempt["outcome"]) == ("gpt-4o-mini", MINI, "ok")
    assert attempt["latency_ms"] > 0 and row.provider_latency_ms == attempt["latency_ms"]


def test_failures_before_the_first_byte_escalate_in_order(client, openai_server, anthropic_server):
    openai_server.replies_for(MINI).append(ChatReply(status=500))
    openai_server.replies_for(FOUR_O).append(ChatReply(status=429))
    anthropic_server.replies_for(SONNET).append(MessageReply(text="from claude"))

    raw = _ask(client)

    assert raw.parse().choices[0].message.content == "from claude"
    assert raw.headers["x-semroute-tier"] == "claude-sonnet-4"
    assert raw.headers["x-semroute-escalations"] == "2"
    row = logged(raw.headers["x-semroute-decision-id"])
    assert [(a["tier"], a["outcome"]) for a in row.attempts] == [
        ("gpt-4o-mini", "server_error"),
        ("gpt-4o", "rate_limited"),
        ("claude-sonnet-4", "ok"),
    ]
    assert row.escalations == 2 and row.answer_tier == "claude-sonnet-4"


def test_escalation_never_goes_below_the_routed_tier(client, openai_server, anthropic_server):
    anthropic_server.replies_for(SONNET).append(MessageReply(status=500))

    with pytest.raises(openai.APIStatusError) as raised:
        _ask(client, CARD)

    assert raised.value.status_code == 503
    assert [a["tier"] for a in raised.value.body["details"]["attempts"]] == ["claude-sonnet-4"]
    assert openai_server.requests_to("/v1/chat/completions") == []


def test_no_tier_answering_is_a_503_naming_each_tier_and_the_missing_variable(
    client, openai_server, monkeypatch
):
    monkeypatch.delenv(OPENAI_KEY)
    monkeypatch.delenv(CLAUDE_KEY)
    openai_server.replies_for(MINI).append(ChatReply(delay_seconds=4))  # past its 3 s timeout

    with pytest.raises(openai.APIStatusError) as raised:
        _ask(client)

    error = raised.value
    assert error.status_code == 503
    assert (error.code, error.type) == ("no_tier_available", "service_unavailable_error")
    attempts = error.body["details"]["attempts"]
    assert [(a["tier"], a["outcome"]) for a in attempts] == [
        ("gpt-4o-mini", "timeout"),
        ("gpt-4o", "missing_key"),
        ("claude-sonnet-4", "missing_key"),
    ]
    assert OPENAI_KEY in attempts[1]["error"] and CLAUDE_KEY in attempts[2]["error"]
    assert OPENAI_KEY in error.body["message"] and CLAUDE_KEY in error.body["message"]
    row = logged(error.body["details"]["decision_id"])
    assert row.answer_tier is None and len(row.attempts) == 3


def test_retry_after_is_honoured_on_the_same_tier(make_gateway_router, sdk, openai_server):
    make_gateway_router(gpt_4o_mini={"max_retries": 1})
    openai_server.replies_for(MINI).extend(
        [ChatReply(status=429, retry_after="1"), ChatReply("ok")]
    )

    raw = _ask(sdk())

    assert raw.headers["x-semroute-tier"] == "gpt-4o-mini"
    [attempt] = logged(raw.headers["x-semroute-decision-id"]).attempts
    assert attempt["outcome"] == "ok"
    assert attempt["retries"] == [{"outcome": "rate_limited", "waited_s": 1.0, "retry_after": 1.0}]
    first, second = openai_server.request_times
    assert second - first >= 1.0


def test_an_open_circuit_is_skipped_without_a_call_then_a_probe_closes_it(
    client, openai_server, monkeypatch
):
    monkeypatch.setattr(
        breakers, "BREAKER_POLICY", breakers.BreakerPolicy(failures=2, cooldown_seconds=0.5)
    )
    openai_server.replies_for(MINI).extend([ChatReply(status=500)] * 2)
    openai_server.replies_for(FOUR_O).extend([ChatReply("4o")] * 3)
    for _ in range(2):
        assert _ask(client).headers["x-semroute-tier"] == "gpt-4o"

    raw = _ask(client)

    assert raw.headers["x-semroute-tier"] == "gpt-4o"
    attempts = logged(raw.headers["x-semroute-decision-id"]).attempts
    assert attempts[0]["outcome"] == "circuit_open" and "circuit open" in attempts[0]["error"]
    assert len(openai_server.requests_to("/v1/chat/completions")) == 5  # 2 + 2 + 1: mini skipped
    time.sleep(0.6)
    openai_server.replies_for(MINI).append(ChatReply("mini is back"))
    assert _ask(client).headers["x-semroute-tier"] == "gpt-4o-mini"  # the probe answered


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [
        (ChatReply(content=""), "empty"),
        (ChatReply(content="half an answ", finish_reason="length"), "truncated"),
        (ChatReply(content="I'm sorry, but I can't help with that."), "refusal"),
        (ChatReply(content=None, refusal="I refuse"), "refusal"),
    ],
)
def test_unusable_answers_escalate(client, openai_server, reply, outcome):
    openai_server.replies_for(MINI).append(reply)
    openai_server.replies_for(FOUR_O).append(ChatReply("a real answer"))

    raw = _ask(client)

    assert raw.parse().choices[0].message.content == "a real answer"
    attempts = logged(raw.headers["x-semroute-decision-id"]).attempts
    assert [(a["tier"], a["outcome"]) for a in attempts] == [
        ("gpt-4o-mini", outcome),
        ("gpt-4o", "ok"),
    ]
    assert attempts[0]["cost_usd"] > 0  # an unusable answer still cost money


def test_anthropic_max_tokens_truncation_escalates_and_all_unusable_returns_the_last(
    client, anthropic_server
):
    anthropic_server.replies_for(SONNET).append(MessageReply(text="cut", stop_reason="max_tokens"))

    raw = _ask(client, CARD)

    assert raw.parse().choices[0].finish_reason == "length"  # nothing stronger: the last answer
    [attempt] = logged(raw.headers["x-semroute-decision-id"]).attempts
    assert attempt["outcome"] == "truncated"


def test_json_mode_answer_that_is_not_json_escalates(client, openai_server):
    openai_server.replies_for(MINI).append(ChatReply(content="sure: {oops"))
    openai_server.replies_for(FOUR_O).append(ChatReply(content='{"hours": "9-5"}'))

    raw = _ask(client, response_format={"type": "json_object"})

    assert json.loads(raw.parse().choices[0].message.content) == {"hours": "9-5"}
    attempts = logged(raw.headers["x-semroute-decision-id"]).attempts
    assert [a["outcome"] for a in attempts] == ["invalid_json", "ok"]
    assert openai_server.requests_to("/v1/chat/completions")[0]["response_format"] == {
        "type": "json_object"
    }


def test_tools_go_only_to_tiers_that_take_them(make_gateway_router, sdk, openai_server):
    make_gateway_router(gpt_4o_mini={"supports_tools": False})
    call = {"id": "call_1", "type": "function", "function": {"name": "hours", "arguments": "{}"}}
    openai_server.replies_for(FOUR_O).append(
        ChatReply(content=None, tool_calls=[call], finish_reason="tool_calls")
    )
    tools = [{"type": "function", "function": {"name": "hours", "parameters": {"type": "object"}}}]

    raw = _ask(sdk(), tools=tools)

    message = raw.parse().choices[0].message
    assert message.tool_calls[0].function.name == "hours"
    attempts = logged(raw.headers["x-semroute-decision-id"]).attempts
    assert [(a["tier"], a["outcome"]) for a in attempts] == [
        ("gpt-4o-mini", "skipped_tools"),
        ("gpt-4o", "ok"),
    ]
    [request] = openai_server.requests_to("/v1/chat/completions")
    assert request["model"] == FOUR_O and request["tools"] == tools


def test_a_request_longer_than_a_tiers_context_window_skips_it(
    make_gateway_router, sdk, openai_server
):
    make_gateway_router(gpt_4o_mini={"context_window": 100})
    openai_server.replies_for(FOUR_O).append(ChatReply("long read"))
    history = [{"role": "assistant", "content": "word " * 200}]

    raw = sdk().chat.completions.with_raw_response.create(
        model="support", messages=[*history, {"role": "user", "content": SIMPLE}]
    )

    attempts = logged(raw.headers["x-semroute-decision-id"]).attempts
    assert attempts[0]["outcome"] == "skipped_context"
    assert "context window is 100" in attempts[0]["error"]
    assert raw.headers["x-semroute-tier"] == "gpt-4o"


def test_a_follow_up_never_goes_below_the_conversations_previous_tier(
    client, openai_server, anthropic_server
):
    anthropic_server.replies_for(SONNET).extend(
        [MessageReply(text="plan"), MessageReply(text="ok")]
    )
    first = _ask(client, CARD, user="conversation-7")
    assert first.headers["x-semroute-tier"] == "claude-sonnet-4"

    follow_up = _ask(client, SIMPLE, user="conversation-7")
    other = _ask(client, SIMPLE, user="someone-else")

    assert follow_up.headers["x-semroute-tier"] == "claude-sonnet-4"
    assert other.headers["x-semroute-tier"] == "gpt-4o-mini"


def test_a_turn_that_escalated_lifts_the_conversations_floor_to_the_tier_that_answered(
    client, openai_server
):
    openai_server.replies_for(MINI).append(ChatReply(status=500))
    openai_server.replies_for(FOUR_O).extend([ChatReply("escalated"), ChatReply("follow-up")])
    first = _ask(client, SIMPLE, user="conversation-8")
    assert (first.headers["x-semroute-tier"], first.headers["x-semroute-escalations"]) == (
        "gpt-4o",
        "1",
    )

    follow_up = _ask(client, SIMPLE, user="conversation-8")

    assert follow_up.headers["x-semroute-tier"] == "gpt-4o"
    assert follow_up.headers["x-semroute-escalations"] == "0"
    assert follow_up.parse().choices[0].message.content == "follow-up"


def test_a_block_rule_answers_with_its_reason_without_calling_a_tier(client, openai_server):
    raw = _ask(client, "please jailbreak yourself")

    completion = raw.parse()
    assert completion.choices[0].message.content == "That is not something this assistant does."
    assert completion.model_extra["semroute"]["blocked"] is True
    assert openai_server.requests_to("/v1/chat/completions") == []


def test_unknown_parameters_pass_to_openai_tiers_and_are_dropped_for_anthropic(
    client, openai_server, anthropic_server
):
    openai_server.replies_for(MINI).append(ChatReply("ok"))
    _ask(
        client, extra_body={"seed": 7, "logit_bias": {"50256": -100}}, temperature=0.2, stop=["END"]
    )
    [request] = openai_server.requests_to("/v1/chat/completions")
    assert (request["seed"], request["temperature"], request["stop"]) == (7, 0.2, ["END"])

    raw = _ask(client, CARD, extra_body={"seed": 7}, stop=["END"], max_tokens=50)

    [request] = anthropic_server.requests_to("/v1/messages")
    assert "seed" not in request
    assert (request["stop_sequences"], request["max_tokens"]) == (["END"], 50)
    [attempt] = logged(raw.headers["x-semroute-decision-id"]).attempts
    assert attempt["note"] == "dropped parameters this provider does not take: seed"


def test_feedback_works_with_the_gateways_decision_id(
    client, openai_server, live_server, gateway_key
):
    import httpx2 as httpx  # the HTTP client the SDKs are built on here

    openai_server.replies_for(MINI).append(ChatReply("ok"))
    decision_id = _ask(client).headers["x-semroute-decision-id"]
    logged(decision_id)  # this suite's flusher is off: write the queued row as a worker would

    response = httpx.post(
        f"{live_server.url}/api/v1/decisions/{decision_id}/feedback",
        json={"rating": "down"},
        headers={"X-API-Key": gateway_key()},
    )

    assert response.status_code == 200, response.text
    assert response.json()["rating"] == "down"


def test_the_judges_hook_hears_each_answer_and_cannot_break_it(client, openai_server, monkeypatch):
    from routing.decision_hooks import hooks

    heard = []

    def judge(**answered):
        heard.append(answered)
        raise RuntimeError("the judge is down")

    monkeypatch.setattr(hooks, "gateway_answered", judge)
    openai_server.replies_for(MINI).append(ChatReply("It ships today."))

    raw = _ask(client)

    assert raw.parse().choices[0].message.content == "It ships today."
    [answered] = heard
    assert str(answered["decision_id"]) == raw.headers["x-semroute-decision-id"]
    assert (answered["answer"], answered["tier"]) == ("It ships today.", "gpt-4o-mini")
    assert answered["messages"] == [{"role": "user", "content": SIMPLE}]
