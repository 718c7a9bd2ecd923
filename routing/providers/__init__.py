"""Chat clients for the model tiers: OpenAI, Anthropic and any OpenAI-compatible server.

One class per provider behind `ChatClient`; `registry.chat_client_for(tier)` picks and caches
it. Used by the LLM classification stage today and by the gateway (issue 11).
"""

from .anthropic_chat import AnthropicChatClient
from .base import ChatClient, ChatCompletion, ProviderError, ProviderTimeout
from .openai_chat import OpenAIChatClient
from .registry import PROVIDER_CLIENTS, chat_client_for, intent_llm_for, intent_llm_for_tier

__all__ = [
    "PROVIDER_CLIENTS",
    "AnthropicChatClient",
    "ChatClient",
    "ChatCompletion",
    "OpenAIChatClient",
    "ProviderError",
    "ProviderTimeout",
    "chat_client_for",
    "intent_llm_for",
    "intent_llm_for_tier",
]
