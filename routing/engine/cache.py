"""Decision cache: normalised query + router version + strategy -> Decision, with a TTL.

`LocalDecisionCache` is the in-process default; the Django layer backs the same protocol with
Redis in production (a `Decision` pickles).
"""

from __future__ import annotations

import hashlib
import threading
import time
import unicodedata
from collections import OrderedDict
from typing import Protocol, runtime_checkable

from .decision import Decision


@runtime_checkable
class DecisionCache(Protocol):
    """Many keys per call: a batch of queries is one round trip to a shared cache, not one each."""

    def get_many(self, keys: list[str]) -> dict[str, Decision]: ...

    def set_many(self, decisions: dict[str, Decision], ttl_seconds: int) -> None: ...


def normalise_query(query: str) -> str:
    """Unicode NFKC, case-folded, whitespace collapsed: queries that differ only so share a key."""
    return " ".join(unicodedata.normalize("NFKC", query).casefold().split())


def conversation_suffix(earlier_turns: tuple[str, ...]) -> str:
    """What a cache key adds for the conversation's earlier turns ("" when there are none)."""
    if not earlier_turns:
        return ""
    joined = "\x1f".join(normalise_query(turn) for turn in earlier_turns)
    return ":conv" + hashlib.blake2b(joined.encode("utf-8"), digest_size=12).hexdigest()


def decision_cache_key(query: str, *, version: int, strategy: str) -> str:
    """The cache key for `query` under one router version and routing strategy."""
    digest = hashlib.blake2b(normalise_query(query).encode("utf-8"), digest_size=16).hexdigest()
    return f"semroute:decision:v{version}:{strategy}:{digest}"


class LocalDecisionCache:
    """A bounded, thread-safe LRU of decisions with a per-entry TTL."""

    def __init__(self, max_entries: int = 10_000):
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, Decision]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Decision | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            expires_at, decision = entry
            if time.monotonic() >= expires_at:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return decision

    def set(self, key: str, decision: Decision, ttl_seconds: int) -> None:
        if ttl_seconds <= 0 or self.max_entries <= 0:
            return
        with self._lock:
            self._entries[key] = (time.monotonic() + ttl_seconds, decision)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def get_many(self, keys: list[str]) -> dict[str, Decision]:
        found = {key: self.get(key) for key in keys}
        return {key: decision for key, decision in found.items() if decision is not None}

    def set_many(self, decisions: dict[str, Decision], ttl_seconds: int) -> None:
        for key, decision in decisions.items():
            self.set(key, decision, ttl_seconds)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
