"""`POST /api/v1/chat/completions` (OpenAI's wire format, `model` = router slug) and
`GET /api/v1/models`, for apps that point their OpenAI SDK's `base_url` at semroute."""

from __future__ import annotations

import time

from django.conf import settings
from django.http import HttpRequest, JsonResponse, StreamingHttpResponse
from ninja import Router

from routing.auth import APIKeyAuth, router_for_key
from routing.config_schema import text_problem
from routing.engine.context import RetrievedContext
from routing.engine.encoders import count_tokens
from routing.engine.rules import MAX_EARLIER_TURNS
from routing.exceptions import InvalidInput, QueryTooLong
from routing.models import Router as RouterModel
from routing.providers import ChatOptions
from routing.retrieved_context import retrieved_context_parse
from routing.schemas import ERROR_RESPONSES

from . import service
from .errors import NoUserTurn, UnsupportedParameter
from .schemas import ChatCompletionIn

router = Router(tags=["gateway"])

# Mapped to every provider; anything else the client sends goes to OpenAI-protocol tiers as is.
KNOWN_FIELDS = frozenset(ChatCompletionIn.model_fields)
MODEL_PREFIX = "semroute/"


def _text(content) -> str:
    if isinstance(content, str):
        return content
    return " ".join(
        str(part.get("text", "")) for part in content or () if part.get("type") == "text"
    )


def _routed_turn(messages: list[dict]) -> int:
    """The index of the last user turn with text: what the router routes."""
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if message["role"] == "user" and _text(message.get("content")).strip():
            return index
    raise NoUserTurn(
        "The conversation has no user turn with text: semroute routes the last user message.",
        details={"field": "messages"},
    )


def _earlier_turns(messages: list[dict], turn: int) -> tuple[str, ...]:
    """The user turns before the routed one, oldest first, that conversation rules search: the
    last MAX_EARLIER_TURNS with text, each cut to the query length limit."""
    limit = settings.SEMROUTE_MAX_QUERY_CHARS
    texts = [_text(m.get("content")).strip() for m in messages[:turn] if m["role"] == "user"]
    return tuple(text[:limit] for text in texts if text)[-MAX_EARLIER_TURNS:]


def _routing_context(payload: ChatCompletionIn, messages: list[dict], turn: int):
    """What the complexity stage and the cost estimate see beside the routed turn: the app's
    `context` when it sends one, else the conversation's other messages as a token count (they
    are part of the prompt the tier will read; a long conversation is a heavier request)."""
    if payload.context is not None:
        return retrieved_context_parse(payload.context)
    others = [_text(m.get("content")) for i, m in enumerate(messages) if i != turn]
    tokens = sum(count_tokens(text) for text in others if text)
    return RetrievedContext(documents=0, tokens=tokens) if tokens else None


def _options(payload: ChatCompletionIn) -> ChatOptions:
    stop = payload.stop
    extra = payload.model_extra or {}
    return ChatOptions(
        temperature=payload.temperature,
        max_tokens=payload.max_completion_tokens or payload.max_tokens,
        stop=[stop] if isinstance(stop, str) else list(stop or []),
        response_format=payload.response_format,
        tools=payload.tools,
        tool_choice=payload.tool_choice,
        passthrough=dict(extra),
    )


def _session(payload: ChatCompletionIn) -> str | None:
    metadata = payload.metadata or {}
    session = metadata.get("session_id") or metadata.get("conversation_id") or payload.user
    return str(session)[:200] if session else None


def _target(slug: str, principal) -> RouterModel:
    return router_for_key(slug=slug.removeprefix(MODEL_PREFIX), principal=principal)


@router.post(
    "/chat/completions",
    response={200: dict, **ERROR_RESPONSES},
    auth=APIKeyAuth("gateway"),
    summary="OpenAI-compatible chat completions: route, call the routed tier, escalate, stream",
)
def chat_completions(request: HttpRequest, payload: ChatCompletionIn):
    if payload.n not in (None, 1):
        raise UnsupportedParameter(
            "n must be 1: the gateway answers with one choice from one tier.",
            details={"field": "n", "value": payload.n},
        )
    if not payload.messages:
        raise NoUserTurn(
            "messages is empty: send at least one user message.", details={"field": "messages"}
        )
    target = _target(payload.model, request.auth)
    messages = [message.model_dump(exclude_none=True) for message in payload.messages]
    turn = _routed_turn(messages)
    query = _text(messages[turn].get("content")).strip()
    if problem := text_problem(query):  # the routed turn is stored on the decision
        raise InvalidInput(f"The last user message {problem}", details={"field": "messages"})
    limit = settings.SEMROUTE_MAX_QUERY_CHARS
    if len(query) > limit:
        raise QueryTooLong(
            f"The last user message is limited to {limit} characters (got {len(query)}).",
            details={"field": "messages", "length": len(query), "max_chars": limit},
        )
    gateway_request = service.GatewayRequest(
        router=target,
        query=query,
        context=_routing_context(payload, messages, turn),
        earlier_turns=_earlier_turns(messages, turn),
        messages=messages,
        options=_options(payload),
        principal=request.auth,
        user_ref=payload.user,
        session_ref=_session(payload),
        metadata=payload.metadata,
        include_usage=bool((payload.stream_options or {}).get("include_usage")),
    )
    run = service.gateway_start(gateway_request)
    if not payload.stream:
        body = service.gateway_complete(run)
        return JsonResponse(body, headers=run.headers())
    opened = service.gateway_stream_open(run)
    response = StreamingHttpResponse(
        service.gateway_stream_events(run, opened),
        content_type="text/event-stream",
        headers={**run.headers(), "Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
    return response


@router.get(
    "/models",
    response={200: dict, **ERROR_RESPONSES},
    auth=APIKeyAuth("gateway"),
    summary="The routers this key may use, in OpenAI's model list format",
)
def models(request: HttpRequest):
    visible = RouterModel.objects.order_by("slug")
    if request.auth.router_ids is not None:
        visible = visible.filter(pk__in=request.auth.router_ids)
    return {
        "object": "list",
        "data": [
            {
                "id": router_row.slug,
                "object": "model",
                "created": int(router_row.created_at.timestamp())
                if getattr(router_row, "created_at", None)
                else int(time.time()),
                "owned_by": "semroute",
            }
            for router_row in visible
        ],
    }
