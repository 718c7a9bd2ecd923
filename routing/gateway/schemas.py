"""The gateway's request body: OpenAI's chat-completions fields, anything else passed through."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from routing.schemas import Identifier, Metadata

ROLES = ("system", "developer", "user", "assistant", "tool")
MAX_MESSAGES = 1000
MAX_TOOLS = 128


# pydantic models, not ninja Schemas: ninja's Schema reads attributes and drops extra keys.
class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal[ROLES]
    content: str | list[dict[str, Any]] | None = None


class ChatCompletionIn(BaseModel):
    """OpenAI's chat-completions request; `model` names the router (`support`, `semroute/support`)."""

    model_config = ConfigDict(extra="allow")

    model: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    messages: list[ChatMessageIn] = Field(..., max_length=MAX_MESSAGES)
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, ge=1, le=10_000_000)
    max_completion_tokens: int | None = Field(None, ge=1, le=10_000_000)
    stop: str | list[str] | None = None
    response_format: dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = Field(None, max_length=MAX_TOOLS)
    tool_choice: str | dict[str, Any] | None = None
    n: int | None = None
    user: Identifier | None = None
    metadata: Metadata | None = None
    # semroute's own: the retrieved context the app will answer with (routing only, never sent on)
    context: Any = None
