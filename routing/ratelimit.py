"""Per-key rate limit: a fixed one-minute window counted in the shared Django cache (Redis in production)."""

from __future__ import annotations

import math
import time

from routing.cache_counters import counters_add
from routing.exceptions import RateLimited

WINDOW_SECONDS = 60


def _window_key(key_id: int, window: int) -> str:
    return f"semroute:ratelimit:{key_id}:{window}"


def rate_limit_hit(*, key_id: int, limit_per_minute: int) -> None:
    """Count one request for the key; raise RateLimited (with Retry-After seconds) beyond its limit."""
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    count = _count(_window_key(key_id, window))
    if count > limit_per_minute:
        retry_after = max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
        raise RateLimited(
            f"Rate limit of {limit_per_minute} requests per minute exceeded for this key.",
            retry_after=retry_after,
            details={"limit_per_minute": limit_per_minute, "retry_after_seconds": retry_after},
        )


def _count(cache_key: str) -> int:
    """Increment the window's counter and return it: one round trip on Redis."""
    (count,) = counters_add({cache_key: 1}, ttl_seconds=WINDOW_SECONDS + 10)
    return count
