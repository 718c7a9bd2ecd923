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

    def _body(self, messages: list[dict], options: ChatOptions, **fields) -> dict:
        """The chat-completions request body, as the wire takes it (no SDK transform pass)."""
        body: dict = {"model": self.model, "messages": messages, **fields}
        if options.temperature is not None:
            body["temperature"] = options.temperature
        if options.max_tokens is not None:
            body["max_tokens"] = options.max_tokens
        if options.stop:
            body["stop"] = options.stop
        if options.response_format is not None:
            body["response_format"] = options.response_format
        elif options.json_mode:
            body["response_format"] = {"type": "json_object"}
        if options.tools:
            body["tools"] = options.tools
        if options.tool_choice is not None:
            body["tool_choice"] = options.tool_choice
        for name, value in options.passthrough.items():  # never the fields set above
            body.setdefault(name, value)
        return body

    def _post(self, body: dict, *, timeout: float, connect_timeout: float | None, **stream):
        # The SDK's own transport, status errors and SSE decoding, without its per-call
        # parameter transform and response models (most of a local call's cost): `cast_to=
        # object` hands back the JSON as parsed, a stream yields each chunk's JSON.
        return self.client.post(
            "/chat/completions",
            body=body,
            cast_to=object,
            options={"timeout": self._timeout(timeout, connect_timeout)},
            **stream,
        )

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
            reply = self._post(
                self._body(messages, options), timeout=timeout, connect_timeout=connect_timeout
            )
            return self._completion(reply)
        except ProviderError:
            raise
        except (self._sdk.OpenAIError, ValueError, TypeError, AttributeError, KeyError) as error:
            raise self._error(error, timeout) from error

    def _completion(self, reply: dict) -> ChatCompletion:
        """OpenAI's chat.completion JSON as a ChatCompletion; a wrong shape raises TypeError,
        KeyError or ValueError (a malformed reply)."""
        if not reply["choices"]:
            raise ProviderError("reply has no choices", tier_down=False, outcome="malformed")
        choice = reply["choices"][0]
        message = choice["message"]
        input_tokens, output_tokens = _tokens(reply.get("usage") or {})
        return ChatCompletion(
            content=_text(message.get("content")),
            finish_reason=choice.get("finish_reason") or "",
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            model=reply.get("model") or self.model,
            tool_calls=tuple(_mapping(call) for call in message.get("tool_calls") or ()),
            refusal=_text(message.get("refusal")),
        )

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
        body = self._body(messages, options, stream=True, stream_options={"include_usage": True})
        try:
            chunks = self._post(
                body,
                timeout=timeout,
                connect_timeout=connect_timeout,
                stream=True,
                stream_cls=self._sdk.Stream[object],
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
                model = chunk.get("model") or model
                if chunk.get("usage") is not None:
                    usage = _tokens(chunk["usage"])
                for choice in (chunk.get("choices") or ())[:1]:
                    delta = choice.get("delta") or {}
                    content = _text(delta.get("content")) or ""
                    calls = tuple(_mapping(call) for call in delta.get("tool_calls") or ())
                    refusal = _text(delta.get("refusal")) or ""
                    if content or calls or refusal:
                        yield ChatDelta(content=content, tool_calls=calls, refusal=refusal)
                    if choice.get("finish_reason"):
                        finish_reason = choice["finish_reason"]
                        ended = True
        except ProviderError:
            raise
        except (self._sdk.OpenAIError, ValueError, TypeError, AttributeError, KeyError) as error:
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
            input_tokens=usage[0] if usage else None,
            output_tokens=usage[1] if usage else None,
            model=model,
        )


def _text(value) -> str | None:
    """A text field of the reply: a string or absent; anything else is a malformed reply."""
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"expected text, got {type(value).__name__}")


def _tokens(usage: dict) -> tuple[int, int]:
    """(prompt, completion) tokens of OpenAI's `usage` object."""
    return int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)


def _mapping(value) -> dict:
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return value


def _broken(error: ProviderError) -> ProviderError:
    """An error while iterating: a timeout stays one, anything else broke the stream."""
    if error.outcome in {"connection_error", "malformed"}:
        error.outcome = "stream_broken"
    return error
