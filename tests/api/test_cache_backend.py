from semroute_site.cache import RedisCache


def test_redis_cache_builds_one_client_per_connection_pool():
    backend = RedisCache("redis://127.0.0.1:6379/9", {})
    replicated = RedisCache("redis://127.0.0.1:6379/9,redis://127.0.0.1:6379/10", {})

    first = backend._cache.get_client("a")

    assert first is backend._cache.get_client("b", write=True)
    assert replicated._cache.get_client("a", write=True) is not replicated._cache.get_client("a")
