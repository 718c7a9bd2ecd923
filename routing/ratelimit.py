"""Per-key rate limit: a fixed one-minute window counted in the shared Django cache (Redis in production)."""

from __future__ import annotations

import math
import time

from django.core.cache import cache

from routing.exceptions import RateLimited

WINDOW_SECONDS = 60


def _window_key(key_id: int, window: int) -> str:
    return f"semroute:ratelimit:{key_id}:{window}"


def rate_limit_hit(*, key_id: int, limit_per_minute: int) -> None:
    """Count one request for the key; raise RateLimited (with Retry-After seconds) beyond its limit."""
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    cache_key = _window_key(key_id, window)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # first request of this window (or the counter expired)
        if cache.add(cache_key, 1, timeout=WINDOW_SECONDS + 10):
            count = 1
        else:  # another worker created it in between
            count = cache.incr(cache_key)
    if count > limit_per_minute:
        retry_after = max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
        raise RateLimited(
            f"Rate limit of {limit_per_minute} requests per minute exceeded for this key.",
            retry_after=retry_after,
            details={"limit_per_minute": limit_per_minute, "retry_after_seconds": retry_after},
        )
