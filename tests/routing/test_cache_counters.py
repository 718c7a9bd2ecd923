"""Counters in the shared cache: one Redis round trip for several keys, the same answers on the
local-memory cache; the rate limit and today's usage per tier are built on them."""

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
