"""Counters in the shared Django cache, incremented in one round trip on Redis.

The rate limit and today's calls and spend per tier both sit on the request path; Django's
`cache.incr` costs two Redis round trips per key (EXISTS, then INCRBY) and `add` a third, so
they go through one pipeline here instead. Other caches (local memory) use add/incr.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache


def counters_add(amounts: Mapping[str, int], *, ttl_seconds: int) -> list[int]:
    """Add each amount to its counter (created at 0, expiring `ttl_seconds` after the last add);
    the new values, in order."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        keys = [backend.make_and_validate_key(key) for key in amounts]
        # One client for every key: Django's Redis backend picks the write server, not by key.
        pipeline = backend._cache.get_client(keys[0], write=True).pipeline(transaction=False)
        for key, amount in zip(keys, amounts.values(), strict=True):
            pipeline.incrby(key, amount)
            pipeline.expire(key, ttl_seconds)
        replies = pipeline.execute()
        return [int(value) for value in replies[::2]]
    return [_local_add(backend, key, amount, ttl_seconds) for key, amount in amounts.items()]


def _local_add(backend, key: str, amount: int, ttl_seconds: int) -> int:
    if backend.add(key, amount, timeout=ttl_seconds):
        return amount
    try:
        return backend.incr(key, amount)
    except ValueError:  # expired between add and incr
        backend.set(key, amount, timeout=ttl_seconds)
        return amount
