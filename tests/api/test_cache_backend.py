import pytest
from django.conf import settings

from semroute_site.cache import RedisCache


def test_redis_cache_builds_one_client_per_connection_pool():
    backend = RedisCache("redis://127.0.0.1:6379/9", {})
    replicated = RedisCache("redis://127.0.0.1:6379/9,redis://127.0.0.1:6379/10", {})

    first = backend._cache.get_client("a")

    assert first is backend._cache.get_client("b", write=True)
    assert replicated._cache.get_client("a", write=True) is not replicated._cache.get_client("a")


@pytest.mark.skipif(not settings.REDIS_URL, reason="needs the real Redis (REDIS_URL)")
def test_set_many_sets_every_value_with_its_expiry_in_one_pipeline():
    backend = RedisCache(settings.REDIS_URL, {})
    backend.clear()
    backend.set_many({"d:a": {"tier": "small"}, "d:b": [1, 2]}, timeout=30)
    backend.set_many({"d:forever": 1}, timeout=None)
    client = backend._cache.get_client()

    assert backend.get_many(["d:a", "d:b"]) == {"d:a": {"tier": "small"}, "d:b": [1, 2]}
    assert 25 <= client.ttl(backend.make_and_validate_key("d:a")) <= 30
    assert client.ttl(backend.make_and_validate_key("d:forever")) == -1  # no expiry
    backend.set_many({"d:a": 2}, timeout=0)  # Django's meaning: gone at once
    assert backend.get("d:a") is None
    backend.clear()
