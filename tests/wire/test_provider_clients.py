"""routing.providers' clients through the real SDKs against the local wire servers, and the LLM
classification stage over each of them."""

import pytest

from routing.engine import ChatIntentLLM, IntentSpec, LLMStageError
from routing.engine.snapshot import TierSpec
from routing.providers import (
    AnthropicChatClient,
    OpenAIChatClient,
    ProviderError,
    ProviderTimeout,
    chat_client_for,
    intent_llm_for,
)
from routing.runtime import runtime_caches
from tests.wire.anthropic_server import MessageReply
from tests.wire.openai_server import ChatReply

INTENTS = [IntentSpec("billing", "h.billing", "charges and invoices"), IntentSpec("refund", "h")]
MESSAGES = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]


def _tier(provider: str, base_url: str, *, name="t", price=1.0, key_env="SEMROUTE_KEY_TEST"):
    return TierSpec(name, 1, provider, f"{provider}-model", price, price, 0.5, 0, base_url, key_env)


@pytest.fixture
def openai_chat(openai_server):
    return OpenAIChatClient(model="gpt-local", api_key="k", base_url=openai_server.base_url)


@pytest.fixture
def anthropic_chat(anthropic_server):
    return AnthropicChatClient(
        model="claude-local", api_key="k", base_url=anthropic_server.base_url
    )


def test_openai_client_maps_the_completion(openai_server, openai_chat):
    openai_server.chat_replies.append(ChatReply(content="hello"))

    completion = openai_chat.complete(MESSAGES, timeout=2, temperature=0, json_mode=True)

    assert (completion.content, completion.finish_reason) == ("hello", "stop")
    assert (completion.input_tokens, completion.output_tokens) == (10, 5)
    [request] = openai_server.requests_to("/v1/chat/completions")
    assert request["messages"] == MESSAGES
    assert request["response_format"] == {"type": "json_object"}


def test_anthropic_client_sends_the_system_prompt_apart_and_maps_the_stop_reason(
    anthropic_server, anthropic_chat
):
    anthropic_server.replies.append(MessageReply(text="hello", stop_reason="max_tokens"))

    completion = anthropic_chat.complete(MESSAGES, timeout=2, temperature=0)

    assert (completion.content, completion.finish_reason) == ("hello", "length")
    assert (completion.input_tokens, completion.output_tokens) == (12, 6)
    [request] = anthropic_server.requests_to("/v1/messages")
    assert request["system"] == "be brief"
    assert request["messages"] == [{"role": "user", "content": "hi"}]
    assert request["max_tokens"] > 0


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_timeouts_and_http_errors_become_provider_errors(
    provider, openai_server, anthropic_server, openai_chat, anthropic_chat
):
    chat = openai_chat if provider == "openai" else anthropic_chat
    if provider == "openai":
        openai_server.chat_replies.extend([ChatReply(delay_seconds=2), ChatReply(status=500)])
    else:
        anthropic_server.replies.extend([MessageReply(delay_seconds=2), MessageReply(status=500)])

    with pytest.raises(ProviderTimeout):
        chat.complete(MESSAGES, timeout=0.2)
    with pytest.raises(ProviderError, match="HTTP error 500") as raised:
        chat.complete(MESSAGES, timeout=2)

    assert raised.value.status == 500 and raised.value.tier_down


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_llm_stage_classifies_through_either_sdk(
    provider, openai_server, anthropic_server, openai_chat, anthropic_chat
):
    if provider == "openai":
        chat = openai_chat
        openai_server.chat_replies.append(ChatReply(content='{"intent": "billing"}'))
    else:
        chat = anthropic_chat
        anthropic_server.replies.append(MessageReply(text='{"intent": "billing"}'))

    assert ChatIntentLLM(chat).classify("charged twice", INTENTS, timeout=2) == "billing"


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (MessageReply(text="billing, surely"), "not JSON"),
        (MessageReply(text=None), "empty reply"),
        (MessageReply(delay_seconds=2), "timed out"),
        (MessageReply(status=529), "HTTP error 529"),
        (MessageReply(raw_body="<html>bad gateway</html>"), "LLM call failed"),
    ],
)
def test_llm_stage_over_anthropic_reports_each_failure(
    anthropic_server, anthropic_chat, reply, reason
):
    anthropic_server.replies.append(reply)

    with pytest.raises(LLMStageError, match=reason):
        ChatIntentLLM(anthropic_chat).classify("charged twice", INTENTS, timeout=0.3)


def test_registry_builds_one_client_class_per_provider(monkeypatch, openai_server):
    monkeypatch.setenv("SEMROUTE_KEY_TEST", "secret")
    openai_tier = _tier("openai", openai_server.base_url)
    local_tier = _tier("openai-compatible", openai_server.base_url, key_env="")
    claude_tier = _tier("anthropic", "http://127.0.0.1:9")

    assert isinstance(chat_client_for(openai_tier), OpenAIChatClient)
    assert isinstance(chat_client_for(local_tier), OpenAIChatClient)  # local servers need no key
    assert isinstance(chat_client_for(claude_tier), AnthropicChatClient)
    assert chat_client_for(openai_tier) is chat_client_for(openai_tier)  # cached
    monkeypatch.delenv("SEMROUTE_KEY_TEST")
    assert chat_client_for(openai_tier) is None and chat_client_for(claude_tier) is None


def test_registry_cache_is_bounded(monkeypatch):
    monkeypatch.setenv("SEMROUTE_KEY_TEST", "secret")
    for i in range(100):
        chat_client_for(_tier("anthropic", f"http://127.0.0.1:{1000 + i}"))

    assert runtime_caches()["provider_clients"] == 64


def test_llm_stage_goes_to_the_cheapest_callable_tier_of_any_provider(
    monkeypatch, anthropic_server
):
    monkeypatch.setenv("SEMROUTE_KEY_TEST", "secret")
    tiers = [
        _tier("openai", "", name="no-key", price=0.01, key_env="SEMROUTE_KEY_UNSET"),
        _tier("anthropic", anthropic_server.base_url, name="claude", price=0.5),
        _tier("openai", "http://127.0.0.1:9/v1", name="dearer", price=5.0),
    ]
    anthropic_server.replies.append(MessageReply(text='{"intent": "refund"}'))

    llm = intent_llm_for(tiers)

    assert llm.classify("money back please", INTENTS, timeout=2) == "refund"
    assert anthropic_server.requests_to("/v1/messages")[0]["model"] == "anthropic-model"
