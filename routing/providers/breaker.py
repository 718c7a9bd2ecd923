"""A circuit breaker per tier upstream (provider, base URL, model), shared by every caller.

After `failures` failures within `window_seconds` the circuit opens: calls are refused for
`cooldown_seconds`, then one probe call is let through (claimed atomically, so one worker probes
while the others keep refusing). The probe's success closes the circuit, its failure reopens it.
The state lives in the shared cache when REDIS_URL is set (every worker sees one circuit) and in
this process otherwise. An unusable answer (the tier answered) is not a failure.

With Redis, a worker that read a clean circuit (closed, no recent failures) takes it as clean for
`SEMROUTE_CIRCUIT_NEAR_MS` (0.5 s) without asking again, so a healthy tier's call costs no
round trip for its circuit: a circuit another worker opened is seen here that much later (this
worker's own failures are seen at once). The tiers page and metrics always read the shared state.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from routing.engine.snapshot import TierSpec
from routing.runtime import runtime_register

from .base import ProviderError


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    failures: int = 3
    window_seconds: float = 60.0
    cooldown_seconds: float = 30.0
    probe_seconds: float = 120.0  # a probe that never reports frees its claim after this


BREAKER_POLICY = BreakerPolicy()
# The LLM stage has a budget of a few seconds per request: one failure opens the circuit (for
# every caller of that upstream), as its cooldown always did.
LLM_STAGE_BREAKER = BreakerPolicy(failures=1)
PREFIX = "semroute:breaker:"


class CircuitOpen(ProviderError):
    """The tier's circuit is open: it is skipped without being called."""

    def __init__(self, message: str):
        super().__init__(message, outcome="circuit_open")


class _LocalStore:
    """Django's cache API subset the breaker uses, in this process (no REDIS_URL)."""

    def __init__(self):
        self._values: dict[str, tuple[float, object]] = {}
        self._lock = threading.Lock()

    def get(self, key: str):
        with self._lock:
            expires, value = self._values.get(key, (0.0, None))
            return value if expires > time.monotonic() else None

    def set(self, key: str, value, timeout: float) -> None:
        with self._lock:
            self._values[key] = (time.monotonic() + timeout, value)

    def add(self, key: str, value, timeout: float) -> bool:
        with self._lock:
            expires, _ = self._values.get(key, (0.0, None))
            if expires > time.monotonic():
                return False
            self._values[key] = (time.monotonic() + timeout, value)
            return True

    def delete(self, key: str) -> None:
        with self._lock:
            self._values.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


class _Breakers:
    """Where states live; `clear()` (runtime_reset) forgets every circuit this process knew."""

    def __init__(self):
        self.local = _LocalStore()
        self.known: set[str] = set()
        self.clean_until: dict[str, float] = {}  # key -> monotonic time (Redis only)

    def __len__(self) -> int:
        return len(self.known)

    def store(self):
        return cache if settings.REDIS_URL else self.local

    def clear(self) -> None:
        self.local.clear()
        self.clean_until.clear()
        if settings.REDIS_URL and self.known:
            cache.delete_many([key for name in self.known for key in (name, name + ":probe")])
        self.known.clear()


_breakers = runtime_register("circuit_breakers", _Breakers())


def upstream_key(tier: TierSpec) -> str:
    """One circuit per upstream: tiers of several routers calling the same model share it."""
    identity = "\x1f".join((tier.provider, tier.base_url, tier.model))
    return PREFIX + hashlib.blake2b(identity.encode("utf-8"), digest_size=10).hexdigest()


def _closed() -> dict:
    return {"state": "closed", "failures": [], "opened_at": None, "last_error": ""}


_CLEAN = _closed()


class TierBreaker:
    """The circuit of one tier's upstream."""

    def __init__(self, tier: TierSpec, policy: BreakerPolicy | None = None):
        self.key = upstream_key(tier)
        self.policy = policy or BREAKER_POLICY
        # The record this thread's `permit` read, for its `success` (the LLM stage shares one
        # breaker between request threads).
        self._seen = threading.local()
        _breakers.known.add(self.key)

    def _ttl(self) -> float:
        policy = self.policy
        return max(policy.window_seconds, policy.cooldown_seconds) * 10 + 3600

    def _read(self) -> dict:
        return _breakers.store().get(self.key) or _closed()

    def state(self) -> dict:
        """{"state": closed|open|half_open, "failures", "opened_at" (epoch s), "last_error"}."""
        record = self._read()
        now = time.time()
        failures = [t for t in record["failures"] if t > now - self.policy.window_seconds]
        state = record["state"]
        if state == "open" and now >= record["opened_at"] + self.policy.cooldown_seconds:
            state = "half_open"
        return {
            "state": state,
            "failures": len(failures),
            "opened_at": record["opened_at"],
            "last_error": record["last_error"],
        }

    def _read_for_call(self) -> dict:
        """The state a call goes by: the shared one, or this worker's recent clean reading."""
        if _breakers.clean_until.get(self.key, 0.0) > time.monotonic():
            return _CLEAN
        record = self._read()
        near = settings.SEMROUTE_CIRCUIT_NEAR_SECONDS
        if settings.REDIS_URL and near and record["state"] == "closed" and not record["failures"]:
            _breakers.clean_until[self.key] = time.monotonic() + near
        return record

    def permit(self) -> str:
        """ "closed" (call normally) or "probe" (the one call that decides); CircuitOpen else."""
        record = self._seen.record = self._read_for_call()
        if record["state"] != "open":
            return "closed"
        reopen_at = record["opened_at"] + self.policy.cooldown_seconds
        if time.time() < reopen_at:
            raise CircuitOpen(
                f"circuit open for {reopen_at - time.time():.0f}s more "
                f"(last error: {record['last_error']})"
            )
        if _breakers.store().add(self.key + ":probe", 1, self.policy.probe_seconds):
            return "probe"
        raise CircuitOpen(f"circuit half-open, a probe is in flight (last: {record['last_error']})")

    def success(self) -> None:
        """Close the circuit and forget its failures. After `permit`, judged on the state it
        read (one cache round trip per call on the hot path, not two)."""
        record = getattr(self._seen, "record", None) or self._read()
        self._seen.record = None
        if record["state"] != "closed" or record["failures"]:
            kept = {**_closed(), "last_error": record["last_error"]}
            _breakers.store().set(self.key, kept, self._ttl())
            _breakers.store().delete(self.key + ":probe")

    def failure(self, error: str) -> None:
        self._seen.record = None
        _breakers.clean_until.pop(self.key, None)
        record = self._read()
        now = time.time()
        failures = [t for t in record["failures"] if t > now - self.policy.window_seconds]
        failures.append(now)
        record = {**record, "failures": failures, "last_error": error[:300]}
        if record["state"] == "open" or len(failures) >= self.policy.failures:
            record["state"], record["opened_at"] = "open", now  # a failed probe reopens it
        _breakers.store().set(self.key, record, self._ttl())
        _breakers.store().delete(self.key + ":probe")


def tier_breaker(tier: TierSpec) -> TierBreaker:
    return TierBreaker(tier)


def circuit_states(tiers: Iterable[TierSpec]) -> dict[str, dict]:
    """{tier name: {"state", "failures", "opened_at", "last_error"}} (metrics, tiers page)."""
    return {tier.name: TierBreaker(tier).state() for tier in tiers}
