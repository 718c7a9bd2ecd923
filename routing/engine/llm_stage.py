"""The LLM classifier stage: asks a chat model to pick an intent for ambiguous queries.

`IntentLLM` is what the router calls. `ChatIntentLLM` implements it over any chat client with
`complete(messages, *, timeout, temperature, json_mode)` (routing/providers: OpenAI, Anthropic,
OpenAI-compatible); `CooldownIntentLLM` stops calling a failing tier for a while; `classify_many`
asks for a batch concurrently within one total budget.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from .errors import LLMStageError
from .snapshot import IntentSpec

SYSTEM_PROMPT = (
    "You classify a user's query into exactly one of the intents listed below, or none of them.\n"
    'Reply with a JSON object and nothing else: {"intent": "<intent name>"} using a name '
    'from the list exactly as written, or {"intent": null} when no intent fits.\n\n'
    "Intents:\n"
)


# In flight at once per request: enough for a batch's ambiguous queries, bounded per worker.
LLM_MAX_CONCURRENCY = 8
# After a tier failure (timeout, connection, HTTP error), calls are skipped for this long; then
# one probe call decides whether it is back.
LLM_COOLDOWN_SECONDS = 30.0

BUDGET_EXHAUSTED = "llm budget exhausted"
TIER_COOLING = "llm tier in cooldown"


@runtime_checkable
class IntentLLM(Protocol):
    def classify(
        self, query: str, intents: Sequence[IntentSpec], *, timeout: float
    ) -> str | None: ...


class ChatReplyLike(Protocol):
    content: str | None


@runtime_checkable
class ChatModel(Protocol):
    """The part of a provider chat client the LLM stage needs (routing.providers.ChatClient).

    Raises TimeoutError on a timeout and any other exception on failure; an exception with a
    false `tier_down` attribute means the tier answered but the reply was unusable.
    """

    def complete(
        self,
        messages: list[dict[str, str]],
        *,
        timeout: float,
        temperature: float | None = None,
        json_mode: bool = False,
    ) -> ChatReplyLike: ...


@runtime_checkable
class TierCircuit(Protocol):
    """A circuit breaker shared with other callers of the tier (routing.providers.breaker)."""

    def permit(self) -> str:
        """Return when the tier may be called; raise when its circuit is open."""
        ...

    def success(self) -> None: ...

    def failure(self, error: str) -> None: ...


class LLMTierCooling(LLMStageError):
    """The tier failed recently and is skipped until its cooldown ends."""


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
    content = _without_code_fence(content)
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


def _without_code_fence(content: str) -> str:
    """The JSON inside a Markdown code fence (models without a JSON mode often add one)."""
    text = content.strip()
    if text.startswith("```") and text.endswith("```"):
        text = text[3:-3].strip()
        if text.startswith("json"):
            text = text[4:]
    return text


class ChatIntentLLM:
    """`IntentLLM` over any provider's chat client (see `ChatModel`)."""

    def __init__(self, chat: ChatModel):
        self.chat = chat

    def classify(self, query: str, intents: Sequence[IntentSpec], *, timeout: float) -> str | None:
        """Return the chosen intent's name, or None for "none of these"; raise LLMStageError."""
        try:
            reply = self.chat.complete(
                build_messages(query, intents), timeout=timeout, temperature=0, json_mode=True
            )
        except LLMStageError:
            raise
        except TimeoutError as error:
            raise LLMStageError(f"LLM timed out after {timeout:g}s", tier_down=True) from error
        except Exception as error:  # noqa: BLE001 - any client failure is a stage failure
            raise LLMStageError(
                f"LLM call failed: {error}", tier_down=getattr(error, "tier_down", True)
            ) from error
        return parse_intent_reply(reply.content, intents)


class CooldownIntentLLM:
    """Wraps an `IntentLLM`: after the tier fails, calls fail fast for `cooldown_seconds`.

    When the cooldown ends, one call probes the tier (others keep failing fast meanwhile); its
    success closes the cooldown, its failure starts another. Unusable replies do not count.
    With a `circuit` (the tier's breaker, shared with the gateway and across workers) that
    circuit decides instead of this object's own state.
    """

    def __init__(
        self,
        llm: IntentLLM,
        *,
        cooldown_seconds: float = LLM_COOLDOWN_SECONDS,
        circuit: TierCircuit | None = None,
    ):
        self.llm = llm
        self.circuit = circuit
        self.cooldown_seconds = cooldown_seconds
        self._lock = threading.Lock()
        self._cooling_until = 0.0
        self._failed = False
        self._probing = False
        self._last_error = ""

    def cooling(self) -> bool:
        """True while calls are being skipped."""
        with self._lock:
            return self._failed and (time.monotonic() < self._cooling_until or self._probing)

    def classify(self, query: str, intents: Sequence[IntentSpec], *, timeout: float) -> str | None:
        if self.circuit is not None:
            return self._classify_in_circuit(query, intents, timeout)
        with self._lock:
            probe = False
            if self._failed:
                if time.monotonic() < self._cooling_until or self._probing:
                    raise LLMTierCooling(f"{TIER_COOLING} (last error: {self._last_error})")
                probe = self._probing = True
        try:
            intent = self.llm.classify(query, intents, timeout=timeout)
        except Exception as error:
            if not isinstance(error, LLMStageError) or error.tier_down:
                with self._lock:
                    self._failed = True
                    self._cooling_until = time.monotonic() + self.cooldown_seconds
                    self._last_error = str(error)[:200]
            raise
        else:
            with self._lock:
                self._failed = False
            return intent
        finally:
            if probe:
                with self._lock:
                    self._probing = False

    def _classify_in_circuit(
        self, query: str, intents: Sequence[IntentSpec], timeout: float
    ) -> str | None:
        circuit = self.circuit
        try:
            circuit.permit()
        except Exception as error:  # noqa: BLE001 - an open circuit is a skip, whatever its type
            raise LLMTierCooling(f"{TIER_COOLING} ({error})") from error
        try:
            intent = self.llm.classify(query, intents, timeout=timeout)
        except Exception as error:
            if not isinstance(error, LLMStageError) or error.tier_down:
                circuit.failure(str(error)[:200])
            else:
                circuit.success()  # the tier answered; the reply was unusable
            raise
        circuit.success()
        return intent


@dataclass(slots=True)
class LLMAnswer:
    """What the LLM stage made of one query."""

    intent: str | None = None
    error: str = ""  # empty when the LLM answered (intent None: "none of these")
    skipped: str = ""  # BUDGET_EXHAUSTED or TIER_COOLING when it was never (fully) asked
    micros: int = 0


def classify_many(
    llm: IntentLLM,
    queries: Sequence[str],
    intents: Sequence[IntentSpec],
    *,
    timeout: float,
    budget_seconds: float,
    max_concurrency: int = LLM_MAX_CONCURRENCY,
) -> list[LLMAnswer]:
    """Ask the LLM about each query, at most `max_concurrency` at once, within one total budget.

    No call outlives the budget: each gets min(timeout, time left). Queries not answered when it
    runs out are marked BUDGET_EXHAUSTED; the caller never waits longer than `budget_seconds`.
    """
    deadline = time.monotonic() + budget_seconds
    if len(queries) == 1:  # the common case needs no thread
        return [_ask(llm, queries[0], intents, timeout, deadline)]
    pool = ThreadPoolExecutor(
        max_workers=min(max_concurrency, len(queries)), thread_name_prefix="llm-stage"
    )
    try:
        futures = [pool.submit(_ask, llm, q, intents, timeout, deadline) for q in queries]
        done, _ = wait(futures, timeout=max(0.0, deadline - time.monotonic()))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    budget_micros = int(budget_seconds * 1e6)
    return [
        future.result()
        if future in done
        else LLMAnswer(skipped=BUDGET_EXHAUSTED, micros=budget_micros)
        for future in futures
    ]


def _ask(
    llm: IntentLLM, query: str, intents: Sequence[IntentSpec], timeout: float, deadline: float
) -> LLMAnswer:
    start_ns = time.perf_counter_ns()
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return LLMAnswer(skipped=BUDGET_EXHAUSTED)
    answer = LLMAnswer()
    try:
        answer.intent = llm.classify(query, intents, timeout=min(timeout, remaining))
    except LLMTierCooling:
        answer.skipped = TIER_COOLING
    except LLMStageError as error:
        answer.error = str(error)
    except Exception as error:  # noqa: BLE001 - an LLM failure must never escape
        answer.error = f"{type(error).__name__}: {error}"
    answer.micros = (time.perf_counter_ns() - start_ns) // 1000
    return answer
