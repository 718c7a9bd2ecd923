"""Streaming and the injected faults through the real SDKs: routing.providers' clients and calls
(retries honouring Retry-After, the circuit breaker, actual cost) against the local wire servers."""

import time

import pytest

from routing.engine.snapshot import TierSpec
from routing.providers import AnthropicChatClient, ChatOptions, OpenAIChatClient, ProviderError
from routing.providers import breaker as breakers
from routing.providers.calls import CallReport, tier_complete, tier_stream
from tests.wire.anthropic_server import MessageReply
from tests.wire.openai_server import ChatReply

MESSAGES = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]


@pytest.fixture
def openai_chat(openai_server):
    return OpenAIChatClient(model="gpt-local", api_key="k", base_url=openai_server.base_url)


@pytest.fixture
def anthropic_chat(anthropic_server):
    return AnthropicChatClient(
        model="claude-local", api_key="k", base_url=anthropic_server.base_url
    )


def _tier(base_url, provider="openai-compatible", **fields):
    defaults = {"timeout_seconds": 2.0, "connect_timeout_seconds": 1.0, "max_retries": 1}
    return TierSpec("t", 1, provider, "m", 1.0, 2.0, 0.5, 0, base_url, "", **{**defaults, **fields})


def test_openai_stream_yields_pieces_then_the_finish_and_usage(openai_server, openai_chat):
    openai_server.chat_replies.append(
        ChatReply(content="one two three", prompt_tokens=7, completion_tokens=3)
    )

    deltas = list(openai_chat.stream(MESSAGES, timeout=2))

    assert [d.content for d in deltas[:-1]] == ["one", " two", " three"]
    assert (deltas[-1].finish_reason, deltas[-1].input_tokens, deltas[-1].output_tokens) == (
        "stop",
        7,
        3,
    )
    [request] = openai_server.requests_to("/v1/chat/completions")
    assert request["stream"] is True and request["stream_options"] == {"include_usage": True}


def test_anthropic_stream_maps_events_and_stop_reason(anthropic_server, anthropic_chat):
    anthropic_server.replies.append(
        MessageReply(text="alpha beta", stop_reason="max_tokens", output_tokens=9)
    )

    deltas = list(anthropic_chat.stream(MESSAGES, timeout=2, options=ChatOptions(max_tokens=9)))

    assert "".join(d.content for d in deltas) == "alpha beta"
    assert (deltas[-1].finish_reason, deltas[-1].input_tokens, deltas[-1].output_tokens) == (
        "length",
        12,
        9,
    )
    [request] = anthropic_server.requests_to("/v1/messages")
    assert (request["stream"], request["max_tokens"], request["system"]) == (True, 9, "be brief")


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_a_stream_cut_after_two_chunks_is_a_broken_stream(
    provider, openai_server, anthropic_server, openai_chat, anthropic_chat
):
    if provider == "openai":
        chat = openai_chat
        openai_server.chat_replies.append(ChatReply(content="a b c d e", stream_cut_after=2))
    else:
        chat = anthropic_chat
        anthropic_server.replies.append(MessageReply(text="a b c d e", stream_cut_after=2))
    received = []

    with pytest.raises(ProviderError) as raised:
        for delta in chat.stream(MESSAGES, timeout=2):
            received.append(delta.content)

    assert received == ["a", " b"]
    assert raised.value.outcome == "stream_broken"


def test_retry_waits_what_retry_after_says_then_answers(openai_server):
    openai_server.chat_replies.extend([ChatReply(status=429, retry_after="1"), ChatReply("ok")])
    report = CallReport()
    tier = _tier(openai_server.base_url)

    answer = tier_complete(
        tier, MESSAGES, ChatOptions(), deadline=time.monotonic() + 10, report=report
    )

    assert answer.content == "ok"
    assert report.waits == [{"outcome": "rate_limited", "waited_s": 1.0, "retry_after": 1.0}]
    first, second = openai_server.request_times
    assert second - first >= 1.0  # the retry came after the Retry-After, not before


def test_retry_after_longer_than_the_budget_is_not_waited_for(openai_server):
    openai_server.chat_replies.append(ChatReply(status=429, retry_after="30"))
    report = CallReport()

    with pytest.raises(ProviderError, match="Retry-After 30s does not fit") as raised:
        tier_complete(
            _tier(openai_server.base_url),
            MESSAGES,
            ChatOptions(),
            deadline=time.monotonic() + 5,
            report=report,
        )

    assert raised.value.outcome == "rate_limited" and report.waits == []
    assert len(openai_server.requests_to("/v1/chat/completions")) == 1


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [
        (ChatReply(status=500), "server_error"),
        (ChatReply(delay_seconds=1.5), "timeout"),
        (ChatReply(raw_body="{not json"), "malformed"),
        (ChatReply(raw_body='{"choices": "none"}'), "malformed"),
        (ChatReply(raw_body='{"choices": [{"message": {"content": 42}}]}'), "malformed"),
        (ChatReply(raw_body='["a", "list"]'), "malformed"),
        (ChatReply(raw_body='{"choices": []}'), "malformed"),
    ],
)
def test_each_fault_has_its_outcome(openai_server, reply, outcome):
    openai_server.default_chat_reply = reply
    tier = _tier(openai_server.base_url, timeout_seconds=0.5, max_retries=0)

    with pytest.raises(ProviderError) as raised:
        tier_complete(
            tier, MESSAGES, ChatOptions(), deadline=time.monotonic() + 5, report=CallReport()
        )

    assert raised.value.outcome == outcome


def test_circuit_opens_after_failures_then_one_probe_closes_it(openai_server, monkeypatch):
    monkeypatch.setattr(
        breakers, "BREAKER_POLICY", breakers.BreakerPolicy(failures=2, cooldown_seconds=0.3)
    )
    tier = _tier(openai_server.base_url, max_retries=0)
    openai_server.default_chat_reply = ChatReply(status=500)

    def call():
        return tier_complete(
            tier, MESSAGES, ChatOptions(), deadline=time.monotonic() + 5, report=CallReport()
        )

    for _ in range(2):
        with pytest.raises(ProviderError, match="HTTP error 500"):
            call()
    with pytest.raises(breakers.CircuitOpen):
        call()
    assert len(openai_server.requests_to("/v1/chat/completions")) == 2  # skipped, not called
    state = breakers.circuit_states([tier])["t"]
    assert (state["state"], state["failures"]) == ("open", 2)
    assert "HTTP error 500" in state["last_error"]

    time.sleep(0.35)  # the cooldown passes: the next call is the probe
    assert breakers.circuit_states([tier])["t"]["state"] == "half_open"
    openai_server.default_chat_reply = ChatReply(content="back")
    assert call().content == "back"
    assert breakers.circuit_states([tier])["t"]["state"] == "closed"


def test_a_success_clears_the_failures_its_call_saw(openai_server):
    tier = _tier(openai_server.base_url, max_retries=0)
    breakers.TierBreaker(tier).failure("HTTP error 500 earlier")
    openai_server.default_chat_reply = ChatReply(content="fine")

    tier_complete(tier, MESSAGES, ChatOptions(), deadline=time.monotonic() + 5, report=CallReport())

    state = breakers.circuit_states([tier])["t"]
    assert (state["state"], state["failures"]) == ("closed", 0)


def test_a_success_does_not_close_a_circuit_another_worker_opened_during_the_call():
    tier = _tier("http://127.0.0.1:9/v1")
    this_call = breakers.TierBreaker(tier)
    assert this_call.permit() == "closed"
    other_worker = breakers.TierBreaker(tier, policy=breakers.BreakerPolicy(failures=1))
    other_worker.failure("HTTP error 503 in another worker")

    this_call.success()

    assert breakers.circuit_states([tier])["t"]["state"] == "open"


def test_stream_call_escalation_point_is_before_the_first_delta(openai_server):
    openai_server.chat_replies.extend([ChatReply(status=503), ChatReply(content="x y")])
    report = CallReport()

    first, rest = tier_stream(
        _tier(openai_server.base_url, max_retries=1),
        MESSAGES,
        ChatOptions(),
        deadline=time.monotonic() + 10,
        report=report,
    )

    assert first.content == "x"
    assert [d.content for d in rest][0] == " y"
    assert [wait["outcome"] for wait in report.waits] == ["server_error"]
