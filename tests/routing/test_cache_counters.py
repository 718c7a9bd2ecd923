"""Counters in the shared cache: one Redis round trip for several keys, the same answers on the
local-memory cache; the rate limit and today's usage per tier are built on them."""

import time

import pytest
from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.test import override_settings

from routing.cache_counters import counters_add
from routing.providers.calls import usage_add, usage_today

LOCAL_MEMORY = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


@pytest.fixture(params=["configured", "local memory"])
def any_cache(request):
    if request.param == "configured":  # Redis when REDIS_URL is set (the services run)
        cache.clear()
        yield
        cache.clear()
        return
    with override_settings(CACHES=LOCAL_MEMORY):
        cache.clear()
        yield


def test_counters_start_at_zero_and_add_in_order(any_cache):
    assert counters_add({"c:a": 1, "c:b": 250}, ttl_seconds=60) == [1, 250]
    assert counters_add({"c:a": 1, "c:b": 5}, ttl_seconds=60) == [2, 255]
    assert cache.get("c:a") == 2  # readable through the cache API


@pytest.mark.skipif(not settings.REDIS_URL, reason="the TTL is Redis's (REDIS_URL unset)")
def test_a_counter_expires_ttl_seconds_after_its_last_add():
    backend = caches["default"]
    assert isinstance(backend, RedisCache)
    backend.clear()
    counters_add({"c:ttl": 1}, ttl_seconds=60)
    key = backend.make_and_validate_key("c:ttl")

    assert 55 <= backend._cache.get_client(key).ttl(key) <= 60


def test_usage_today_counts_calls_and_spend_per_tier(any_cache):
    usage_add(scope="support", tier_name="gpt-4o-mini", cost_usd=0.000123)
    usage_add(scope="support", tier_name="gpt-4o-mini", cost_usd=0.000002)
    usage_add(scope="support", tier_name="gpt-4o", cost_usd=0.5)

    assert usage_today(scope="support", tier_name="gpt-4o-mini") == {
        "calls": 2,
        "spend_usd": 0.000125,
    }
    assert usage_today(scope="support", tier_name="gpt-4o") == {"calls": 1, "spend_usd": 0.5}
    assert usage_today(scope="other", tier_name="gpt-4o") == {"calls": 0, "spend_usd": 0.0}


@pytest.mark.skipif(not settings.REDIS_URL, reason="usage is summed per worker only with Redis")
def test_a_worker_sends_its_usage_counts_in_one_go_within_the_flush_interval(settings):
    """With Redis the counts are summed in the worker and sent by a timer, off the request."""
    settings.SEMROUTE_USAGE_FLUSH_SECONDS = 0.2
    cache.clear()
    for _ in range(3):
        usage_add(scope="support", tier_name="small", cost_usd=0.001)
    calls_key = next(iter(cache_keys_like("tier_usage")), None)

    assert calls_key is None  # nothing sent yet: summed in this worker
    deadline = time.monotonic() + 5
    while not cache_keys_like("tier_usage") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(cache_keys_like("tier_usage")) == 2  # calls and spend, sent by the timer
    usage_add(scope="support", tier_name="small", cost_usd=0.001)
    # This worker's own reading includes what it has not sent yet.
    assert usage_today(scope="support", tier_name="small") == {"calls": 4, "spend_usd": 0.004}
    cache.clear()


def cache_keys_like(part: str) -> list[bytes]:
    client = caches["default"]._cache.get_client()
    return [key for key in client.keys("*") if part.encode() in key]
