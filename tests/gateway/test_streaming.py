"""Streamed answers through the real OpenAI SDK: chunks, the final routing facts, escalation
before the first byte, and a stream broken after bytes were sent ending with the error event."""

import openai
import pytest

from tests.gateway.conftest import CARD, FOUR_O, MINI, SIMPLE, SONNET, logged
from tests.wire.anthropic_server import MessageReply
from tests.wire.openai_server import ChatReply


def _stream(client, text=SIMPLE, **options):
    return client.chat.completions.with_raw_response.create(
        model="support", messages=[{"role": "user", "content": text}], stream=True, **options
    )


def test_a_streamed_answer_arrives_in_chunks_with_facts_and_usage_last(client, openai_server):
    openai_server.replies_for(MINI).append(
        ChatReply(content="It ships tomorrow.", prompt_tokens=40, completion_tokens=4)
    )

    raw = _stream(client, stream_options={"include_usage": True})
    chunks = list(raw.parse())

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "It ships tomorrow."
    assert raw.headers["content-type"].startswith("text/event-stream")
    assert raw.headers["x-semroute-tier"] == "gpt-4o-mini"
    finish = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert finish == ["stop"]
    last = chunks[-1]
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (40, 4)
    facts = last.model_extra["semroute"]
    assert (facts["tier"], facts["escalations"]) == ("gpt-4o-mini", 0)
    row = logged(raw.headers["x-semroute-decision-id"])
    [attempt] = row.attempts
    assert attempt["outcome"] == "ok" and attempt["ttft_ms"] is not None
    assert row.ttft_ms == attempt["ttft_ms"]
    assert row.actual_cost_usd == pytest.approx(40 * 0.15 / 1e6 + 4 * 0.60 / 1e6)


def test_a_stream_escalates_before_its_first_byte(client, openai_server):
    openai_server.replies_for(MINI).append(ChatReply(status=503))
    openai_server.replies_for(FOUR_O).append(ChatReply(content=""))  # an empty stream
    raw = _stream(client, CARD)  # warm nothing: routed to claude
    list(raw.parse())

    openai_server.replies_for(MINI).append(ChatReply(status=503))
    raw = _stream(client)
    text = "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)

    assert raw.headers["x-semroute-tier"] == "claude-sonnet-4"
    assert raw.headers["x-semroute-escalations"] == "2"
    assert text == '{"intent": null}'  # the Anthropic server's default reply
    attempts = logged(raw.headers["x-semroute-decision-id"]).attempts
    assert [(a["tier"], a["outcome"]) for a in attempts] == [
        ("gpt-4o-mini", "server_error"),
        ("gpt-4o", "empty"),
        ("claude-sonnet-4", "ok"),
    ]


def test_a_stream_cut_after_two_chunks_ends_with_the_error_event(client, openai_server):
    openai_server.replies_for(MINI).append(
        ChatReply(content="one two three four", stream_cut_after=2)
    )
    received = []

    raw = _stream(client)
    with pytest.raises(openai.APIError) as raised:
        for chunk in raw.parse():
            received.append(chunk.choices[0].delta.content or "")

    assert "".join(received) == "one two"
    assert "broke off after 2 chunk(s)" in raised.value.message
    assert raised.value.body["code"] == "stream_broken"
    assert raised.value.body["details"]["tier"] == "gpt-4o-mini"
    row = logged(raw.headers["x-semroute-decision-id"])
    assert [a["outcome"] for a in row.attempts] == ["stream_broken"]


def test_the_error_event_is_followed_by_done(
    live_server, gateway_key, gateway_router, openai_server
):
    import httpx2

    openai_server.replies_for(MINI).append(ChatReply(content="a b c", stream_cut_after=1))
    body = {"model": "support", "stream": True, "messages": [{"role": "user", "content": SIMPLE}]}

    response = httpx2.post(
        f"{live_server.url}/api/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {gateway_key()}"},
        timeout=10,
    )

    events = response.text.strip().split("\n\n")
    assert events[-2].startswith("event: error\ndata: {")
    assert events[-1] == "data: [DONE]"


def test_an_anthropic_tier_streams_through_the_openai_wire_format(client, anthropic_server):
    anthropic_server.replies_for(SONNET).append(MessageReply(text="Card noted, never echoed."))

    raw = _stream(client, CARD)
    chunks = list(raw.parse())

    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == (
        "Card noted, never echoed."
    )
    assert chunks[-1].model_extra["semroute"]["tier"] == "claude-sonnet-4"
    [request] = anthropic_server.requests_to("/v1/messages")
    assert request["stream"] is True and request["model"] == SONNET


def test_no_tier_for_a_stream_is_a_503_before_any_byte(client, openai_server, anthropic_server):
    openai_server.default_chat_reply = ChatReply(status=500)
    anthropic_server.default_reply = MessageReply(status=529)

    with pytest.raises(openai.APIStatusError) as raised:
        _stream(client)

    assert raised.value.status_code == 503
    assert [a["outcome"] for a in raised.value.body["details"]["attempts"]] == [
        "server_error",
        "server_error",
        "server_error",
    ]
