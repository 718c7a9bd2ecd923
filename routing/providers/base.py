"""The one protocol every provider's chat client follows, and the errors they raise.

The gateway and the LLM classification stage call `ChatClient.complete` and never branch on a
provider's name; a new provider is one class plus its wire-server test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

# Per-call timeouts are passed on each call; this only bounds a call made without one.
DEFAULT_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class ChatCompletion:
    """A provider's answer in one shape: text, why it stopped, and the tokens it used."""

    content: str | None
    finish_reason: str  # "stop", "length" (token limit), or the provider's own reason
    input_tokens: int
    output_tokens: int
    model: str


@runtime_checkable
class ChatClient(Protocol):
    """A chat model behind one tier."""

    provider: str
    model: str

    def complete(
        self,
        messages: list[dict[str, str]],
        *,
        timeout: float,
        temperature: float | None = None,
        json_mode: bool = False,
        max_tokens: int | None = None,
    ) -> ChatCompletion:
        """One non-streaming completion; raises ProviderError (ProviderTimeout on a timeout)."""
        ...


class ProviderError(Exception):
    """A provider call failed. `tier_down` is False when the tier answered but unusably."""

    def __init__(self, message: str, *, status: int | None = None, tier_down: bool = True):
        super().__init__(message)
        self.status = status
        self.tier_down = tier_down


class ProviderTimeout(ProviderError, TimeoutError):
    """The call did not finish within its timeout (also a builtin TimeoutError)."""
