"""Calling one tier well: its key, its circuit, its timeouts, bounded retries, actual cost.

`tier_complete` and `tier_stream` are what the gateway, the playground's Run and the tiers page's
"Test this tier" call. Retries (at most `tier.max_retries`) follow 429 (waiting what Retry-After
says when it fits the budget), 5xx and connection errors, never an answer that was unusable,
and for a stream only before its first delta. Every call's tokens become its cost in USD with
the tier's prices, and today's calls and spend per tier are counted in the shared cache.

With Redis, a worker adds those counts up itself and sends them in one round trip at most every
`SEMROUTE_USAGE_FLUSH_MS` (1 s), off the request path; its own `usage_today` sends them first.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

from routing.cache_counters import counters_add
from routing.engine.snapshot import TierSpec
from routing.engine.tier_policy import tier_cost_usd
from routing.runtime import runtime_register

from .base import (
    MAX_RETRY_AFTER_SECONDS,
    ChatClient,
    ChatCompletion,
    ChatDelta,
    ChatOptions,
    ProviderError,
)
from .breaker import TierBreaker
from .registry import PROVIDER_CLIENTS, chat_client_for

logger = logging.getLogger("semroute.providers")

BACKOFF_SECONDS = 0.25  # first retry without Retry-After; doubles each time
USAGE_PREFIX = "semroute:tier_usage:"
USAGE_TTL_SECONDS = 2 * 86400


@dataclass(slots=True)
class CallReport:
    """What happened on one tier: retries waited, time to the first byte, the error."""

    waits: list[dict] = field(default_factory=list)  # {"outcome", "waited_s", "retry_after"}
    ttft_ms: float | None = None


def tier_client(tier: TierSpec) -> ChatClient:
    """The tier's client; ProviderError("missing_key") naming the variable when it has none."""
    if tier.provider not in PROVIDER_CLIENTS:
        raise ProviderError(f"unknown provider {tier.provider!r}", outcome="misconfigured")
    client = chat_client_for(tier)
    if client is None:
        variable = tier.api_key_env or "(no key variable configured)"
        raise ProviderError(
            f"no API key: set the environment variable {variable}"
            if tier.api_key_env
            else "no API key variable configured for this tier",
            outcome="missing_key",
        )
    return client


def call_cost_usd(tier: TierSpec, input_tokens: int, output_tokens: int) -> float:
    return round(tier_cost_usd(tier, input_tokens, output_tokens), 8)


def _retrying(
    tier: TierSpec, call: Callable[[float], object], *, deadline: float, report: CallReport
):
    breaker = TierBreaker(tier)
    attempt = 0
    while True:
        breaker.permit()  # CircuitOpen: skipped, never waited on
        remaining = deadline - time.monotonic()
        if remaining <= 0.05:
            raise ProviderError("no time left in the request's budget", outcome="timeout")
        try:
            result = call(min(tier.timeout_seconds, remaining))
        except ProviderError as error:
            if not error.tier_down:
                breaker.success()  # it answered; the answer was unusable
                raise
            breaker.failure(str(error))
            if not error.retryable or attempt >= tier.max_retries:
                raise
            wait = error.retry_after
            if wait is None:
                wait = BACKOFF_SECONDS * 2**attempt
            if wait > MAX_RETRY_AFTER_SECONDS or time.monotonic() + wait >= deadline - 0.05:
                error.args = (f"{error} (Retry-After {wait:g}s does not fit the budget)",)
                raise
            report.waits.append(
                {"outcome": error.outcome, "waited_s": wait, "retry_after": error.retry_after}
            )
            time.sleep(wait)
            attempt += 1
            continue
        breaker.success()
        return result


def tier_complete(
    tier: TierSpec,
    messages: list[dict],
    options: ChatOptions,
    *,
    deadline: float,
    report: CallReport,
) -> ChatCompletion:
    """One non-streamed answer from `tier` (with its retries); ProviderError when it fails."""
    client = tier_client(tier)
    started = time.perf_counter()

    def call(timeout: float) -> ChatCompletion:
        return client.complete(
            messages,
            timeout=timeout,
            connect_timeout=tier.connect_timeout_seconds,
            options=options,
        )

    completion = _retrying(tier, call, deadline=deadline, report=report)
    report.ttft_ms = (time.perf_counter() - started) * 1000
    return completion


def tier_stream(
    tier: TierSpec,
    messages: list[dict],
    options: ChatOptions,
    *,
    deadline: float,
    report: CallReport,
) -> tuple[ChatDelta, Iterator[ChatDelta]]:
    """The first delta and the rest of `tier`'s stream; retried only until the first delta.

    An upstream that ends with no content at all raises ProviderError("empty") before anything
    reached the client, so the caller can still escalate.
    """
    client = tier_client(tier)
    started = time.perf_counter()

    def call(timeout: float) -> tuple[ChatDelta, Iterator[ChatDelta]]:
        deltas = client.stream(
            messages,
            timeout=timeout,
            connect_timeout=tier.connect_timeout_seconds,
            options=options,
        )
        first = next(deltas, None)
        if first is None:
            raise ProviderError("stream ended before any delta", outcome="stream_broken")
        return first, deltas

    first, rest = _retrying(tier, call, deadline=deadline, report=report)
    report.ttft_ms = (time.perf_counter() - started) * 1000
    return first, rest


def _usage_keys(scope: str, tier_name: str, day: date | None = None) -> tuple[str, str]:
    base = f"{USAGE_PREFIX}{(day or date.today()).isoformat()}:{scope}:{tier_name}"
    return base + ":calls", base + ":micro_usd"


class UsageBuffer:
    """Usage counts this worker has not sent yet, and the timer that sends them."""

    def __init__(self):
        self._pending: dict[str, int] = {}
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, amounts: Mapping[str, int]) -> None:
        delay = settings.SEMROUTE_USAGE_FLUSH_SECONDS
        if delay <= 0 or not isinstance(caches["default"], RedisCache):
            counters_add(amounts, ttl_seconds=USAGE_TTL_SECONDS)
            return
        with self._lock:
            for key, amount in amounts.items():
                self._pending[key] = self._pending.get(key, 0) + amount
            if self._timer is None:
                self._timer = threading.Timer(delay, self.flush)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        """Send what is pending; kept for the next flush when the cache cannot take it."""
        with self._lock:
            pending, self._pending = self._pending, {}
            if self._timer is not None and self._timer is not threading.current_thread():
                self._timer.cancel()
            self._timer = None
        if not pending:
            return
        try:
            counters_add(pending, ttl_seconds=USAGE_TTL_SECONDS)
        except Exception:  # Redis down: nothing is lost, the next add schedules another try
            logger.exception("tier usage counts not sent; kept for the next flush")
            with self._lock:
                for key, amount in pending.items():
                    self._pending[key] = self._pending.get(key, 0) + amount

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()
            if self._timer is not None:
                self._timer.cancel()
            self._timer = None


_usage = runtime_register("tier_usage_pending", UsageBuffer())
atexit.register(_usage.flush)


def usage_add(*, scope: str, tier_name: str, cost_usd: float) -> None:
    """Count one answered call and its cost today (shared across workers with Redis)."""
    calls_key, spend_key = _usage_keys(scope, tier_name)
    _usage.add({calls_key: 1, spend_key: round(cost_usd * 1e6)})


def usage_flush() -> None:
    """Send this worker's pending usage counts now (worker exit, tests)."""
    _usage.flush()


def usage_today(*, scope: str, tier_name: str) -> dict:
    """{"calls": answered calls today, "spend_usd": their actual cost} for one tier."""
    _usage.flush()
    calls_key, spend_key = _usage_keys(scope, tier_name)
    found = cache.get_many([calls_key, spend_key])
    return {"calls": found.get(calls_key, 0), "spend_usd": found.get(spend_key, 0) / 1e6}
