"""One registry of bounded runtime caches with one reset."""

import pytest

from routing.conflicts import router_conflicts
from routing.decide import decide, intent_llm_for
from routing.runtime import BoundedCache, runtime_cache, runtime_caches, runtime_reset
from routing.snapshots import compiled_router


def test_a_runtime_cache_is_a_bounded_lru():
    cache = runtime_cache("test-lru", max_entries=3)
    for key in "abc":
        cache.set(key, key.upper())
    cache.get("a")  # now the most recently used
    cache.set("d", "D")

    assert "b" not in cache and {"a", "c", "d"} <= {k for k in "abcd" if k in cache}
    assert len(cache) == 3
    assert cache.get_or_set("e", lambda: None) is None and "e" in cache  # None is a value too


def test_the_same_name_is_the_same_cache_and_a_different_bound_is_refused():
    first = runtime_cache("test-shared", max_entries=5)

    assert runtime_cache("test-shared", max_entries=5) is first
    with pytest.raises(ValueError, match="test-shared"):
        runtime_cache("test-shared", max_entries=6)
    with pytest.raises(ValueError):
        BoundedCache("test-empty", max_entries=0)


@pytest.mark.django_db
def test_one_reset_empties_every_runtime_cache(demo_router):
    decide(router=demo_router, query="where is my parcel")
    router_conflicts(demo_router)
    intent_llm_for(compiled_router(demo_router).snapshot)
    compiled = compiled_router(demo_router)
    filled = runtime_caches()
    assert all(filled[name] >= 1 for name in ("compiled_routers", "router_conflicts"))
    assert filled["llm_stage_by_revision"] == 1

    runtime_reset()

    assert all(count == 0 for count in runtime_caches().values())
    assert compiled_router(demo_router) is not compiled  # compiled again on the next request
