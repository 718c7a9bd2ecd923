"""The LLM classifier stage: asks a chat model to pick an intent for ambiguous queries."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from .errors import LLMStageError
from .snapshot import IntentSpec

SYSTEM_PROMPT = (
    "You classify a user's query into exactly one of the intents listed below, or none of them.\n"
    'Reply with a JSON object and nothing else: {"intent": "<intent name>"} using a name '
    'from the list exactly as written, or {"intent": null} when no intent fits.\n\n'
    "Intents:\n"
)


@runtime_checkable
class IntentLLM(Protocol):
    def classify(
        self, query: str, intents: Sequence[IntentSpec], *, timeout: float
    ) -> str | None: ...


def build_messages(query: str, intents: Sequence[IntentSpec]) -> list[dict[str, str]]:
    """The chat messages for one classification: intents with descriptions, then the query."""
    lines = []
    for intent in intents:
        description = " ".join(intent.description.split()) or "(no description)"
        lines.append(f"- {intent.name}: {description}")
    return [
        {"role": "system", "content": SYSTEM_PROMPT + "\n".join(lines)},
        {"role": "user", "content": query},
    ]


def parse_intent_reply(content: str | None, intents: Sequence[IntentSpec]) -> str | None:
    """Validate the model's JSON reply; anything but a known intent name or null is an error."""
    if not content:
        raise LLMStageError("empty reply from the LLM")
    try:
        reply = json.loads(content)
    except json.JSONDecodeError as error:
        raise LLMStageError(f"reply is not JSON: {content[:200]!r}") from error
    if not isinstance(reply, dict) or "intent" not in reply:
        raise LLMStageError(f'reply lacks the "intent" key: {content[:200]!r}')
    intent = reply["intent"]
    if intent is None:
        return None
    names = {spec.name for spec in intents}
    if not isinstance(intent, str) or intent not in names:
        raise LLMStageError(f"reply names an unknown intent: {intent!r}")
    return intent


class OpenAIChatIntentLLM:
    """`IntentLLM` over the OpenAI chat-completions API (or any compatible server)."""

    def __init__(self, client, model: str):
        self.client = client
        self.model = model

    def classify(self, query: str, intents: Sequence[IntentSpec], *, timeout: float) -> str | None:
        """Return the chosen intent's name, or None for "none of these"; raise LLMStageError."""
        import openai

        try:
            completion = self.client.with_options(
                timeout=timeout, max_retries=0
            ).chat.completions.create(
                model=self.model,
                messages=build_messages(query, intents),
                temperature=0,
                response_format={"type": "json_object"},
            )
        except openai.APITimeoutError as error:
            raise LLMStageError(f"LLM timed out after {timeout:g}s") from error
        except openai.APIStatusError as error:
            raise LLMStageError(f"LLM HTTP error {error.status_code}") from error
        except openai.OpenAIError as error:
            raise LLMStageError(f"LLM call failed: {type(error).__name__}: {error}") from error
        if not completion.choices:
            raise LLMStageError("LLM reply has no choices")
        return parse_intent_reply(completion.choices[0].message.content, intents)
