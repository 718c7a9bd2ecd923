"""From a tier to its chat client: one class per provider, clients cached (bounded) per tier."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from routing.engine.llm_stage import ChatIntentLLM, CooldownIntentLLM, IntentLLM
from routing.engine.snapshot import TierSpec
from routing.provider_keys import provider_key
from routing.runtime import runtime_cache

from .anthropic_chat import AnthropicChatClient
from .base import ChatClient
from .openai_chat import OpenAIChatClient

# provider name (TierSpec.provider) -> client class; OpenAI-compatible servers speak OpenAI's API.
PROVIDER_CLIENTS: dict[str, type] = {
    "openai": OpenAIChatClient,
    "openai-compatible": OpenAIChatClient,
    "anthropic": AnthropicChatClient,
}
# Local OpenAI-compatible servers usually need no key; the SDK still wants a string.
NO_KEY = "not-needed"

_clients = runtime_cache("provider_clients", max_entries=64)
_intent_llms = runtime_cache("provider_intent_llms", max_entries=64)


def _tier_api_key(tier: TierSpec) -> str | None:
    """The key for `tier` from the variable it names: None when unset or not allow-listed."""
    return provider_key(tier.api_key_env) if tier.api_key_env else None


def _client_key(tier: TierSpec, api_key: str) -> tuple[str, ...]:
    # A key's digest, not the key: a rotated key gets a new client, and no secret is a dict key.
    key_digest = hashlib.blake2b(api_key.encode("utf-8"), digest_size=8).hexdigest()
    return (tier.provider, tier.base_url, tier.model, tier.api_key_env, key_digest)


def chat_client_for(tier: TierSpec) -> ChatClient | None:
    """The tier's chat client, or None when it cannot be called (no key, unknown provider).

    A key is needed except for an OpenAI-compatible tier with a base URL (local servers).
    """
    client_class = PROVIDER_CLIENTS.get(tier.provider)
    api_key = _tier_api_key(tier)
    if client_class is None:
        return None
    if not api_key:
        if not (tier.provider == "openai-compatible" and tier.base_url):
            return None
        api_key = NO_KEY
    return _clients.get_or_set(
        _client_key(tier, api_key),
        lambda: client_class(model=tier.model, api_key=api_key, base_url=tier.base_url),
    )


def intent_llm_for_tier(tier: TierSpec) -> IntentLLM | None:
    """The LLM classification stage over `tier`, with its cooldown state kept per tier."""
    client = chat_client_for(tier)
    if client is None:
        return None
    from .breaker import LLM_STAGE_BREAKER, TierBreaker

    api_key = _tier_api_key(tier) or NO_KEY
    return _intent_llms.get_or_set(
        _client_key(tier, api_key),
        lambda: CooldownIntentLLM(
            ChatIntentLLM(client), circuit=TierBreaker(tier, policy=LLM_STAGE_BREAKER)
        ),
    )


def intent_llm_for(tiers: Sequence[TierSpec]) -> IntentLLM | None:
    """The LLM stage on the cheapest enabled tier that can be called, any provider; else None."""
    candidates = sorted(
        (tier for tier in tiers if tier.enabled),
        key=lambda tier: (tier.price_in_per_mtok + tier.price_out_per_mtok, tier.rank),
    )
    for tier in candidates:
        llm = intent_llm_for_tier(tier)
        if llm is not None:
            return llm
    return None
