"""OpenAI chat completions, also for OpenAI-compatible servers (Ollama, vLLM, llama.cpp, LM Studio)."""

from __future__ import annotations

import time
from collections.abc import Iterator

from .base import (
    DEFAULT_TIMEOUT_SECONDS,
    ChatCompletion,
    ChatDelta,
    ChatOptions,
    ProviderError,
    ProviderTimeout,
    SDKCallErrors,
)


class OpenAIChatClient(SDKCallErrors):
    """`ChatClient` over the official `openai` SDK; `base_url` (with /v1) selects another server."""

    sdk_base_error = "OpenAIError"

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

    def dropped_options(self, options: ChatOptions) -> list[str]:
        return []  # the OpenAI protocol takes every parameter the client sent

    def _request(self, options: ChatOptions) -> dict:
        request: dict = {}
        if options.temperature is not None:
            request["temperature"] = options.temperature
        if options.max_tokens is not None:
            request["max_tokens"] = options.max_tokens
        if options.stop:
            request["stop"] = options.stop
        if options.response_format is not None:
            request["response_format"] = options.response_format
        elif options.json_mode:
            request["response_format"] = {"type": "json_object"}
        if options.tools:
            request["tools"] = options.tools
        if options.tool_choice is not None:
            request["tool_choice"] = options.tool_choice
        if options.passthrough:
            request["extra_body"] = dict(options.passthrough)
        return request

    def complete(
        self,
        messages: list[dict],
        *,
        timeout: float,
        temperature: float | None = None,
        json_mode: bool = False,
        max_tokens: int | None = None,
        connect_timeout: float | None = None,
        options: ChatOptions | None = None,
    ) -> ChatCompletion:
        options = options or ChatOptions(
            temperature=temperature, json_mode=json_mode, max_tokens=max_tokens
        )
        try:
            completion = self.client.chat.completions.create(
                model=self.model,
                messages=messages,
                timeout=self._timeout(timeout, connect_timeout),
                **self._request(options),
            )
            if not completion.choices:
                raise ProviderError("reply has no choices", tier_down=False, outcome="malformed")
            choice = completion.choices[0]
            usage = completion.usage
            tool_calls = tuple(call.model_dump() for call in choice.message.tool_calls or ())
            return ChatCompletion(
                content=choice.message.content,
                finish_reason=choice.finish_reason or "",
                input_tokens=usage.prompt_tokens if usage else 0,
                output_tokens=usage.completion_tokens if usage else 0,
                model=completion.model or self.model,
                tool_calls=tool_calls,
                refusal=getattr(choice.message, "refusal", None),
            )
        except ProviderError:
            raise
        except (self._sdk.OpenAIError, ValueError, TypeError, AttributeError) as error:
            raise self._error(error, timeout) from error

    def stream(
        self,
        messages: list[dict],
        *,
        timeout: float,
        connect_timeout: float | None = None,
        options: ChatOptions | None = None,
    ) -> Iterator[ChatDelta]:
        options = options or ChatOptions()
        deadline = time.monotonic() + timeout
        try:
            chunks = self.client.chat.completions.create(
                timeout=self._timeout(timeout, connect_timeout),
                model=self.model,
                messages=messages,
                stream=True,
                stream_options={"include_usage": True},
                **self._request(options),
            )
        except (self._sdk.OpenAIError, ValueError, TypeError, AttributeError) as error:
            raise self._error(error, timeout) from error
        return self._deltas(chunks, deadline, timeout)

    def _deltas(self, chunks, deadline: float, timeout: float) -> Iterator[ChatDelta]:
        finish_reason, usage, model, ended = "", None, self.model, False
        try:
            for chunk in chunks:
                if time.monotonic() > deadline:
                    raise ProviderTimeout(f"stream took longer than {timeout:g}s")
                model = chunk.model or model
                if chunk.usage is not None:
                    usage = chunk.usage
                for choice in chunk.choices[:1]:
                    delta = choice.delta
                    calls = tuple(call.model_dump() for call in delta.tool_calls or ())
                    if delta.content or calls or getattr(delta, "refusal", None):
                        yield ChatDelta(
                            content=delta.content or "",
                            tool_calls=calls,
                            refusal=getattr(delta, "refusal", None) or "",
                        )
                    if choice.finish_reason:
                        finish_reason = choice.finish_reason
                        ended = True
        except ProviderError:
            raise
        except (self._sdk.OpenAIError, ValueError, TypeError, AttributeError) as error:
            raise _broken(self._error(error, timeout)) from error
        except Exception as error:  # the connection dropped mid-stream (httpx's own errors)
            if "Timeout" in type(error).__name__:
                raise ProviderTimeout(f"stream stalled past {timeout:g}s") from error
            raise ProviderError(
                f"stream broken: {type(error).__name__}: {error}", outcome="stream_broken"
            ) from error
        finally:
            chunks.close()
        if not ended:
            raise ProviderError("stream ended without a finish reason", outcome="stream_broken")
        yield ChatDelta(
            finish_reason=finish_reason,
            input_tokens=usage.prompt_tokens if usage else None,
            output_tokens=usage.completion_tokens if usage else None,
            model=model,
        )


def _broken(error: ProviderError) -> ProviderError:
    """An error while iterating: a timeout stays one, anything else broke the stream."""
    if error.outcome in {"connection_error", "malformed"}:
        error.outcome = "stream_broken"
    return error
