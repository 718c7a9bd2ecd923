"""Anthropic's messages API: system prompt apart, `max_tokens` required, content blocks."""

from __future__ import annotations

from .base import DEFAULT_TIMEOUT_SECONDS, ChatCompletion, ProviderError, ProviderTimeout

# The messages API requires max_tokens; a classification reply needs a few dozen.
DEFAULT_MAX_TOKENS = 1024
# Anthropic's stop reasons in the OpenAI vocabulary the rest of semroute uses.
FINISH_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length"}


class AnthropicChatClient:
    """`ChatClient` over the official `anthropic` SDK; `base_url` is given without /v1."""

    provider = "anthropic"

    def __init__(self, *, model: str, api_key: str, base_url: str = ""):
        import anthropic  # here, not at module level: the SDK takes ~1 s to import

        self.model = model
        self._sdk = anthropic
        self.client = anthropic.Anthropic(
            api_key=api_key,
            base_url=base_url or None,
            timeout=DEFAULT_TIMEOUT_SECONDS,
            max_retries=0,  # retries and escalation are the caller's decision
        )

    def complete(
        self,
        messages: list[dict[str, str]],
        *,
        timeout: float,
        temperature: float | None = None,  # not sent: this SDK's messages API takes none
        json_mode: bool = False,  # no JSON mode in this API: the prompt asks for JSON
        max_tokens: int | None = None,
    ) -> ChatCompletion:
        system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
        turns = [
            {"role": m["role"], "content": m["content"]} for m in messages if m["role"] != "system"
        ]
        options: dict = {}
        if system:
            options["system"] = system
        sdk = self._sdk
        try:
            message = self.client.with_options(timeout=timeout).messages.create(
                model=self.model,
                max_tokens=max_tokens or DEFAULT_MAX_TOKENS,
                messages=turns,
                **options,
            )
        except sdk.APITimeoutError as error:
            raise ProviderTimeout(f"timed out after {timeout:g}s") from error
        except sdk.APIStatusError as error:
            raise ProviderError(
                f"HTTP error {error.status_code}", status=error.status_code
            ) from error
        except sdk.AnthropicError as error:
            raise ProviderError(f"{type(error).__name__}: {error}") from error
        except (ValueError, TypeError, AttributeError) as error:  # a body that is not the API's
            raise ProviderError(f"malformed reply: {type(error).__name__}: {error}") from error
        text = "".join(block.text for block in message.content if block.type == "text")
        return ChatCompletion(
            content=text or None,
            finish_reason=FINISH_REASONS.get(message.stop_reason or "", message.stop_reason or ""),
            input_tokens=message.usage.input_tokens,
            output_tokens=message.usage.output_tokens,
            model=message.model or self.model,
        )
