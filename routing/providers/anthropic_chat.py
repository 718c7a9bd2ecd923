"""Anthropic's messages API: system prompt apart, `max_tokens` required, content blocks.

The gateway speaks OpenAI's chat format; this client maps it both ways: system messages to
`system`, text parts to text blocks, OpenAI tools and tool calls to `tools` / `tool_use` /
`tool_result`, stop reasons to OpenAI's finish reasons. JSON mode becomes an instruction.
"""

from __future__ import annotations

import json
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

# The messages API requires max_tokens; a classification reply needs a few dozen.
DEFAULT_MAX_TOKENS = 1024
# Anthropic's stop reasons in the OpenAI vocabulary the rest of semroute uses.
FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
JSON_INSTRUCTION = "Reply with one valid JSON object and nothing else."


def _text_of(content) -> str:
    if isinstance(content, str):
        return content
    return "".join(
        part.get("text", "") for part in content or () if isinstance(part, dict)
    )  # OpenAI's content parts: only text parts carry over


def anthropic_messages(messages: list[dict]) -> tuple[str, list[dict]]:
    """OpenAI chat messages as Anthropic's (system prompt, turns)."""
    system_parts, turns = [], []
    for message in messages:
        role = message.get("role")
        if role in ("system", "developer"):
            system_parts.append(_text_of(message.get("content")))
        elif role == "tool":
            block = {
                "type": "tool_result",
                "tool_use_id": message.get("tool_call_id", ""),
                "content": _text_of(message.get("content")),
            }
            turns.append({"role": "user", "content": [block]})
        elif role == "assistant" and message.get("tool_calls"):
            blocks = [{"type": "text", "text": _text_of(message.get("content"))}]
            blocks = [b for b in blocks if b["text"]]
            for call in message["tool_calls"]:
                function = call.get("function", {})
                try:
                    arguments = json.loads(function.get("arguments") or "{}")
                except json.JSONDecodeError:
                    arguments = {}
                blocks.append(
                    {
                        "type": "tool_use",
                        "id": call.get("id", ""),
                        "name": function.get("name", ""),
                        "input": arguments,
                    }
                )
            turns.append({"role": "assistant", "content": blocks})
        else:
            turns.append({"role": role, "content": _text_of(message.get("content"))})
    return "\n\n".join(part for part in system_parts if part), turns


def anthropic_tools(tools: list[dict]) -> list[dict]:
    return [
        {
            "name": tool["function"]["name"],
            "description": tool["function"].get("description", ""),
            "input_schema": tool["function"].get("parameters") or {"type": "object"},
        }
        for tool in tools
        if tool.get("type") == "function"
    ]


def anthropic_tool_choice(choice) -> dict | None:
    if choice in ("auto", "none"):
        return {"type": choice}
    if choice == "required":
        return {"type": "any"}
    if isinstance(choice, dict) and choice.get("function"):
        return {"type": "tool", "name": choice["function"].get("name", "")}
    return None


class AnthropicChatClient(SDKCallErrors):
    """`ChatClient` over the official `anthropic` SDK; `base_url` is given without /v1."""

    sdk_base_error = "AnthropicError"

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

    def dropped_options(self, options: ChatOptions) -> list[str]:
        """OpenAI-only parameters: not sent to Anthropic (the gateway notes them)."""
        return sorted(options.passthrough)

    def _request(self, messages: list[dict], options: ChatOptions) -> dict:
        system, turns = anthropic_messages(messages)
        if options.json_mode or options.response_format:
            system = f"{system}\n\n{JSON_INSTRUCTION}".strip()
            schema = (options.response_format or {}).get("json_schema")
            if isinstance(schema, dict) and schema.get("schema"):
                system += f" It must match this JSON schema: {json.dumps(schema['schema'])}"
        request: dict = {
            "model": self.model,
            "max_tokens": options.max_tokens or DEFAULT_MAX_TOKENS,
            "messages": turns,
        }
        if system:
            request["system"] = system
        if options.stop:
            request["stop_sequences"] = options.stop
        if options.tools:
            request["tools"] = anthropic_tools(options.tools)
            if choice := anthropic_tool_choice(options.tool_choice):
                request["tool_choice"] = choice
        if options.temperature is not None:  # this SDK has no argument for it; the API takes it
            request["extra_body"] = {"temperature": options.temperature}
        return request

    def complete(
        self,
        messages: list[dict],
        *,
        timeout: float,
        temperature: float | None = None,  # the LLM stage's: not sent (see _request)
        json_mode: bool = False,  # no JSON mode in this API: the LLM stage's prompt asks for JSON
        max_tokens: int | None = None,
        connect_timeout: float | None = None,
        options: ChatOptions | None = None,
    ) -> ChatCompletion:
        options = options or ChatOptions(max_tokens=max_tokens)
        try:
            message = self.client.messages.create(
                timeout=self._timeout(timeout, connect_timeout), **self._request(messages, options)
            )
            text = "".join(block.text for block in message.content if block.type == "text")
            tool_calls = tuple(
                {
                    "id": block.id,
                    "type": "function",
                    "function": {"name": block.name, "arguments": json.dumps(block.input)},
                }
                for block in message.content
                if block.type == "tool_use"
            )
            stop_reason = message.stop_reason or ""
            return ChatCompletion(
                content=text or None,
                finish_reason=FINISH_REASONS.get(stop_reason, stop_reason),
                input_tokens=message.usage.input_tokens,
                output_tokens=message.usage.output_tokens,
                model=message.model or self.model,
                tool_calls=tool_calls,
                refusal="refused" if stop_reason == "refusal" else None,
            )
        except (self._sdk.AnthropicError, ValueError, TypeError, AttributeError) as error:
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
            events = self.client.messages.create(
                stream=True,
                timeout=self._timeout(timeout, connect_timeout),
                **self._request(messages, options),
            )
        except (self._sdk.AnthropicError, ValueError, TypeError, AttributeError) as error:
            raise self._error(error, timeout) from error
        return self._deltas(events, deadline, timeout)

    def _deltas(self, events, deadline: float, timeout: float) -> Iterator[ChatDelta]:
        input_tokens = output_tokens = None
        stop_reason, model, ended, tool_index = "", self.model, False, -1
        try:
            for event in events:
                if time.monotonic() > deadline:
                    raise ProviderTimeout(f"stream took longer than {timeout:g}s")
                if event.type == "message_start":
                    model = event.message.model or model
                    input_tokens = event.message.usage.input_tokens
                elif event.type == "content_block_start" and event.content_block.type == "tool_use":
                    tool_index += 1
                    block = event.content_block
                    yield ChatDelta(
                        tool_calls=(
                            {
                                "index": tool_index,
                                "id": block.id,
                                "type": "function",
                                "function": {"name": block.name, "arguments": ""},
                            },
                        )
                    )
                elif event.type == "content_block_delta":
                    if event.delta.type == "text_delta" and event.delta.text:
                        yield ChatDelta(content=event.delta.text)
                    elif event.delta.type == "input_json_delta":
                        arguments = {"arguments": event.delta.partial_json}
                        yield ChatDelta(tool_calls=({"index": tool_index, "function": arguments},))
                elif event.type == "message_delta":
                    stop_reason = event.delta.stop_reason or stop_reason
                    output_tokens = event.usage.output_tokens
                elif event.type == "message_stop":
                    ended = True
        except ProviderError:
            raise
        except Exception as error:  # the connection dropped or the events were not the API's
            if "Timeout" in type(error).__name__:
                raise ProviderTimeout(f"stream stalled past {timeout:g}s") from error
            raise ProviderError(
                f"stream broken: {type(error).__name__}: {error}", outcome="stream_broken"
            ) from error
        finally:
            events.close()
        if not ended:
            raise ProviderError("stream ended without message_stop", outcome="stream_broken")
        yield ChatDelta(
            finish_reason=FINISH_REASONS.get(stop_reason, stop_reason),
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            model=model,
            refusal="refused" if stop_reason == "refusal" else "",
        )
