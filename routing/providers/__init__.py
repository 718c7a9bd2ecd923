"""Chat clients for the model tiers: OpenAI, Anthropic and any OpenAI-compatible server.

One class per provider behind `ChatClient`; `registry.chat_client_for(tier)` picks and caches
it; `calls` adds a tier's timeouts, retries, circuit breaker (`breaker`) and actual cost. Used by
the LLM classification stage, the gateway (routing/gateway/) and the console.
"""

from .anthropic_chat import AnthropicChatClient
from .base import (
    ChatClient,
    ChatCompletion,
    ChatDelta,
    ChatOptions,
    ProviderError,
    ProviderTimeout,
)
from .breaker import CircuitOpen, TierBreaker, circuit_states
from .openai_chat import OpenAIChatClient
from .registry import PROVIDER_CLIENTS, chat_client_for, intent_llm_for, intent_llm_for_tier

__all__ = [
    "PROVIDER_CLIENTS",
    "AnthropicChatClient",
    "ChatClient",
    "ChatCompletion",
    "ChatDelta",
    "ChatOptions",
    "CircuitOpen",
    "OpenAIChatClient",
    "ProviderError",
    "ProviderTimeout",
    "TierBreaker",
    "chat_client_for",
    "circuit_states",
    "intent_llm_for",
    "intent_llm_for_tier",
]
