"""The process's runtime caches, in one registry: each bounded, all emptied by one reset.

Compiled routers, conflicts, LLM clients and the in-process decision cache are all kept per
router revision (or per tier) in `runtime_cache(name, max_entries)` LRUs, so none grows without
bound and tests (or an operator's "reload") clear everything with `runtime_reset()`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Protocol


class Clearable(Protocol):
    def clear(self) -> None: ...


class BoundedCache:
    """A thread-safe LRU of at most `max_entries` entries."""

    def __init__(self, name: str, max_entries: int):
        if max_entries < 1:
            raise ValueError(f"runtime cache {name!r}: max_entries must be at least 1")
        self.name = name
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            if key not in self._entries:
                return default
            self._entries.move_to_end(key)
            return self._entries[key]

    def set(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def get_or_set(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """The value under `key`, built (outside the lock) and stored when missing."""
        missing = object()
        value = self.get(key, missing)
        if value is missing:
            value = build()
            self.set(key, value)
        return value

    def pop(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            return self._entries.pop(key, default)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._entries

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


_registry: dict[str, Clearable] = {}
_registry_lock = threading.Lock()


def runtime_cache(name: str, max_entries: int) -> BoundedCache:
    """The process-wide bounded cache called `name` (created on first use)."""
    with _registry_lock:
        cache = _registry.get(name)
        if cache is None:
            cache = _registry[name] = BoundedCache(name, max_entries)
        elif not isinstance(cache, BoundedCache) or cache.max_entries != max_entries:
            raise ValueError(f"runtime cache {name!r} is already registered differently")
        return cache


def runtime_register(name: str, cache: Clearable) -> Clearable:
    """Register a cache with its own bounds (e.g. the engine's TTL decision cache) for the reset."""
    with _registry_lock:
        existing = _registry.setdefault(name, cache)
    if existing is not cache:
        raise ValueError(f"runtime cache {name!r} is already registered")
    return cache


def runtime_reset() -> None:
    """Empty every registered cache: the next request recompiles and rebuilds what it needs."""
    with _registry_lock:
        caches = list(_registry.values())
    for cache in caches:
        cache.clear()


def runtime_caches() -> dict[str, int]:
    """Entries per registered cache (health pages, tests)."""
    with _registry_lock:
        caches = dict(_registry)
    return {name: len(cache) for name, cache in caches.items()}  # type: ignore[arg-type]
