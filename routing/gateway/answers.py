"""Is an answer usable, and the OpenAI wire shapes of the gateway's answers (body and chunks)."""

from __future__ import annotations

import json
import re
import time

from routing.providers import ChatCompletion

# The openings models use when they decline; a refusal escalates to a stronger tier.
REFUSAL = re.compile(
    r"^\s*(?:i'm sorry|i am sorry|sorry|i apologi[sz]e)?[,.! ]*(?:but )?"
    r"(?:i can(?:no|')t|i cannot|i'm unable to|i am unable to|i won't|i will not)"
    r"\s+(?:help|assist|comply|provide|do that|answer|fulfil)",
    re.IGNORECASE,
)
UNUSABLE_OUTCOMES = ("empty", "truncated", "refusal", "invalid_json")


def json_requested(response_format: dict | None) -> bool:
    return bool(response_format) and response_format.get("type") in ("json_object", "json_schema")


def unusable_reason(
    *, content: str | None, finish_reason: str, refusal: str | None, tool_calls, json_wanted: bool
) -> str:
    """Why an answer cannot be given to the client ("empty", "truncated", "refusal",
    "invalid_json"), or "" when it can."""
    if refusal or finish_reason == "content_filter":
        return "refusal"
    if finish_reason == "length":
        return "truncated"
    if tool_calls:
        return ""
    text = (content or "").strip()
    if not text:
        return "empty"
    if REFUSAL.match(text):
        return "refusal"
    if json_wanted:
        try:
            json.loads(text)
        except json.JSONDecodeError:
            return "invalid_json"
    return ""


def completion_unusable(completion: ChatCompletion, *, json_wanted: bool) -> str:
    return unusable_reason(
        content=completion.content,
        finish_reason=completion.finish_reason,
        refusal=completion.refusal,
        tool_calls=completion.tool_calls,
        json_wanted=json_wanted,
    )


def completion_body(
    *,
    completion_id: str,
    model: str,
    content: str | None,
    finish_reason: str,
    tool_calls=(),
    prompt_tokens: int,
    completion_tokens: int,
    semroute: dict,
) -> dict:
    """OpenAI's chat.completion object, with the routing facts under `semroute`."""
    message: dict = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = list(tool_calls)
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason or "stop"}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
        "semroute": semroute,
    }


def chunk(completion_id: str, model: str, delta: dict, finish_reason: str | None = None) -> dict:
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


def sse(payload: dict | str, event: str | None = None) -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload)
    return (f"event: {event}\n" if event else "").encode() + f"data: {data}\n\n".encode()


SSE_DONE = b"data: [DONE]\n\n"
