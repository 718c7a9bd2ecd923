"""The one protocol every provider's chat client follows, and the errors they raise.

The gateway and the LLM classification stage call `ChatClient.complete` / `ChatClient.stream` and
never branch on a provider's name; a new provider is one class plus its wire-server test.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

# Per-call timeouts are passed on each call; this only bounds a call made without one.
DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_CONNECT_TIMEOUT_SECONDS = 5.0
# A Retry-After longer than this is not waited for (the caller escalates instead).
MAX_RETRY_AFTER_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class ChatCompletion:
    """A provider's answer in one shape: text, why it stopped, and the tokens it used."""

    content: str | None
    finish_reason: str  # "stop", "length" (token limit), "tool_calls", or the provider's own
    input_tokens: int
    output_tokens: int
    model: str
    tool_calls: tuple[dict, ...] = ()  # OpenAI's shape: {"id", "type": "function", "function"}
    refusal: str | None = None  # the provider said it refused (OpenAI's message.refusal)


@dataclass(frozen=True, slots=True)
class ChatDelta:
    """One piece of a streamed answer; the last one has `finish_reason` and the usage."""

    content: str = ""
    tool_calls: tuple[dict, ...] = ()  # OpenAI's delta shape, with "index"
    finish_reason: str = ""
    input_tokens: int | None = None
    output_tokens: int | None = None
    model: str = ""
    refusal: str = ""


@dataclass(slots=True)
class ChatOptions:
    """What a request asks of the model beyond its messages (the gateway maps the client's)."""

    temperature: float | None = None
    max_tokens: int | None = None
    stop: list[str] = field(default_factory=list)
    json_mode: bool = False
    response_format: dict | None = None  # OpenAI's, sent as is to OpenAI-protocol tiers
    tools: list[dict] | None = None  # OpenAI's function tools
    tool_choice: Any = None
    # Parameters only OpenAI-protocol servers understand: sent to them, dropped for others.
    passthrough: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class ChatClient(Protocol):
    """A chat model behind one tier."""

    provider: str
    model: str

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
        """One non-streaming completion; raises ProviderError (ProviderTimeout on a timeout)."""
        ...

    def stream(
        self,
        messages: list[dict],
        *,
        timeout: float,
        connect_timeout: float | None = None,
        options: ChatOptions | None = None,
    ) -> Iterator[ChatDelta]:
        """A streamed completion: ProviderError before the first delta or while iterating."""
        ...

    def dropped_options(self, options: ChatOptions) -> list[str]:
        """Names of the request's parameters this provider does not take (noted, not sent)."""
        ...


class ProviderError(Exception):
    """A provider call failed. `tier_down` is False when the tier answered but unusably.

    `outcome` names what happened for the decision log (timeout, rate_limited, server_error,
    http_error, connection_error, malformed, stream_broken); `retry_after` is the provider's
    Retry-After in seconds when it sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        tier_down: bool = True,
        outcome: str = "",
        retry_after: float | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.tier_down = tier_down
        self.retry_after = retry_after
        self.outcome = outcome or _outcome_for(status)

    @property
    def retryable(self) -> bool:
        """Worth another try on the same tier: rate limits, 5xx, connection errors."""
        return self.outcome in {"rate_limited", "server_error", "connection_error"}


class ProviderTimeout(ProviderError, TimeoutError):
    """The call did not finish within its timeout (also a builtin TimeoutError)."""

    def __init__(self, message: str, **kwargs):
        kwargs.setdefault("outcome", "timeout")
        super().__init__(message, **kwargs)


def _outcome_for(status: int | None) -> str:
    if status is None:
        return "connection_error"
    if status == 429:
        return "rate_limited"
    if status >= 500:
        return "server_error"
    return "http_error"


def retry_after_seconds(headers: Any) -> float | None:
    """Seconds from a Retry-After header (a number or an HTTP date); None when absent or bad."""
    if headers is None:
        return None
    raw = headers.get("retry-after-ms")
    if raw:
        try:
            return max(0.0, float(raw) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(raw) if raw else None
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def status_error(error: Any) -> ProviderError:
    """A ProviderError from an SDK's APIStatusError (either SDK: same attributes)."""
    status = error.status_code
    message = f"HTTP error {status}"
    detail = _error_message(getattr(error, "body", None))
    if detail:
        message += f": {detail[:200]}"
    response = getattr(error, "response", None)
    return ProviderError(
        message,
        status=status,
        retry_after=retry_after_seconds(getattr(response, "headers", None)),
    )


def _error_message(body: Any) -> str:
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return inner["message"]
    return ""


class SDKCallErrors:
    """What the OpenAI and Anthropic clients share: the per-call timeout and the mapping of their
    SDK's exceptions to ProviderError. A subclass sets `_sdk` (the SDK module) in __init__ and
    names its SDK's base exception in `sdk_base_error`."""

    _sdk: Any
    sdk_base_error: str

    def _timeout(self, timeout: float, connect_timeout: float | None):
        # Per request, not with_options(): that copies the client on every call.
        connect = min(timeout, connect_timeout or DEFAULT_CONNECT_TIMEOUT_SECONDS)
        return self._sdk.Timeout(timeout, connect=connect)

    def _error(self, error: Exception, timeout: float) -> ProviderError:
        sdk = self._sdk
        if isinstance(error, sdk.APITimeoutError):
            return ProviderTimeout(f"timed out after {timeout:g}s")
        if isinstance(error, sdk.APIStatusError):
            return status_error(error)
        if isinstance(error, sdk.APIConnectionError):
            return ProviderError(f"connection error: {error}", outcome="connection_error")
        if isinstance(error, getattr(sdk, self.sdk_base_error)):
            return ProviderError(f"{type(error).__name__}: {error}", outcome="malformed")
        # A body that is not the API's (ValueError, TypeError, AttributeError from parsing).
        return ProviderError(
            f"malformed reply: {type(error).__name__}: {error}", outcome="malformed"
        )
