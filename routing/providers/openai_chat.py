"""OpenAI chat completions, also for OpenAI-compatible servers (Ollama, vLLM, llama.cpp, LM Studio)."""

from __future__ import annotations

from .base import DEFAULT_TIMEOUT_SECONDS, ChatCompletion, ProviderError, ProviderTimeout


class OpenAIChatClient:
    """`ChatClient` over the official `openai` SDK; `base_url` (with /v1) selects another server."""

    provider = "openai"

    def __init__(self, *, model: str, api_key: str, base_url: str = ""):
        import openai  # here, not at module level: the SDK takes ~1 s to import

        self.model = model
        self._sdk = openai
        self.client = openai.OpenAI(
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
        temperature: float | None = None,
        json_mode: bool = False,
        max_tokens: int | None = None,
    ) -> ChatCompletion:
        options: dict = {}
        if temperature is not None:
            options["temperature"] = temperature
        if json_mode:
            options["response_format"] = {"type": "json_object"}
        if max_tokens is not None:
            options["max_tokens"] = max_tokens
        sdk = self._sdk
        try:
            completion = self.client.with_options(timeout=timeout).chat.completions.create(
                model=self.model, messages=messages, **options
            )
        except sdk.APITimeoutError as error:
            raise ProviderTimeout(f"timed out after {timeout:g}s") from error
        except sdk.APIStatusError as error:
            raise ProviderError(
                f"HTTP error {error.status_code}", status=error.status_code
            ) from error
        except sdk.OpenAIError as error:
            raise ProviderError(f"{type(error).__name__}: {error}") from error
        except (ValueError, TypeError, AttributeError) as error:  # a body that is not the API's
            raise ProviderError(f"malformed reply: {type(error).__name__}: {error}") from error
        if not completion.choices:
            raise ProviderError("reply has no choices", tier_down=False)
        choice = completion.choices[0]
        usage = completion.usage
        return ChatCompletion(
            content=choice.message.content,
            finish_reason=choice.finish_reason or "",
            input_tokens=usage.prompt_tokens if usage else 0,
            output_tokens=usage.completion_tokens if usage else 0,
            model=completion.model or self.model,
        )
