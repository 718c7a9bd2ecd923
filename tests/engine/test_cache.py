import pickle
from dataclasses import replace

from routing.engine import LocalDecisionCache, Policy, compile_router, decision_cache_key
from routing.engine import cache as cache_module


def test_second_call_is_a_cache_hit_with_a_fresh_latency(router, encoder):
    cache = LocalDecisionCache()

    # A query no other test encodes: the first decision pays for encoding, a hit never does.
    first = router.route("will it rain tomorrow afternoon in lisbon", encoder=encoder, cache=cache)
    second = router.route(
        "  Will it RAIN   tomorrow afternoon in LISBON ", encoder=encoder, cache=cache
    )

    assert first.cached is False and first.stage == "embedding"
    assert second.cached is True and second.stage == "cache"
    assert second.intent == first.intent and second.tier == first.tier
    assert second.trace.stages[0].stage == "cache"
    assert "first decided by stage 'embedding'" in second.trace.notes[0]
    assert second.latency_ms < first.latency_ms
    assert first.trace.stages[0].stage == "rules"  # the caller's decision is not mutated


def test_different_query_is_a_miss(router, encoder):
    cache = LocalDecisionCache()
    router.route("will it rain tomorrow", encoder=encoder, cache=cache)

    assert router.route("book a flight to rome", encoder=encoder, cache=cache).cached is False


def test_entries_expire_after_their_ttl(router, encoder, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(cache_module.time, "monotonic", lambda: now[0])
    cache = LocalDecisionCache()
    router.route("will it rain tomorrow", encoder=encoder, cache=cache)

    now[0] += router.snapshot.policy.cache_ttl_seconds - 1
    assert router.route("will it rain tomorrow", encoder=encoder, cache=cache).cached is True
    now[0] += 2
    assert router.route("will it rain tomorrow", encoder=encoder, cache=cache).cached is False


def test_new_router_version_does_not_see_old_decisions(router, encoder):
    cache = LocalDecisionCache()
    router.route("will it rain tomorrow", encoder=encoder, cache=cache)
    next_version = compile_router(replace(router.snapshot, version=router.version + 1))

    decision = next_version.route("will it rain tomorrow", encoder=encoder, cache=cache)

    assert decision.cached is False
    assert decision.router_version == router.version + 1


def test_recreated_router_with_the_same_slug_and_version_does_not_see_old_decisions(
    router, encoder
):
    cache = LocalDecisionCache()
    old = compile_router(replace(router.snapshot, fingerprint="stored-version-41"))
    old.route("will it rain tomorrow", encoder=encoder, cache=cache)
    # Deleted and re-created with the same settings: only the stored version differs.
    recreated = compile_router(replace(router.snapshot, fingerprint="stored-version-97"))

    assert old.version == recreated.version and old.snapshot.slug == recreated.snapshot.slug
    assert recreated.route("will it rain tomorrow", encoder=encoder, cache=cache).cached is False
    assert old.route("will it rain tomorrow", encoder=encoder, cache=cache).cached is True


def test_policy_override_changes_the_cache_key(router, encoder):
    cache = LocalDecisionCache()
    router.route("will it rain tomorrow", encoder=encoder, cache=cache)
    override = replace(router.snapshot.policy, method="knn", threshold=0.3)

    assert (
        router.route("will it rain tomorrow", encoder=encoder, cache=cache, policy=override).cached
        is False
    )
    assert (
        router.route("will it rain tomorrow", encoder=encoder, cache=cache, policy=override).cached
        is True
    )


def test_zero_ttl_disables_caching(encoder, base_snapshot):
    router = compile_router(
        replace(base_snapshot, policy=Policy(method="centroid", cache_ttl_seconds=0))
    )
    cache = LocalDecisionCache()
    router.route("hello", encoder=encoder, cache=cache)

    assert len(cache) == 0


def test_lru_is_bounded():
    cache = LocalDecisionCache(max_entries=2)
    for key in "abc":
        cache.set(key, object(), ttl_seconds=60)

    assert cache.get("a") is None and cache.get("c") is not None


def test_key_normalises_case_whitespace_and_unicode():
    key = decision_cache_key("Ｈｅｌｌｏ   World", version=3, strategy="s")

    assert key == decision_cache_key("hello world", version=3, strategy="s")
    assert key != decision_cache_key("hello world", version=4, strategy="s")
    assert key != decision_cache_key("hello world", version=3, strategy="t")


def test_decision_pickles_for_a_shared_cache(router, encoder):
    decision = router.route("will it rain tomorrow", encoder=encoder)

    assert pickle.loads(pickle.dumps(decision)) == decision


class CountingCache(LocalDecisionCache):
    def __init__(self):
        super().__init__()
        self.calls: list[tuple[str, int]] = []

    def get_many(self, keys):
        self.calls.append(("get_many", len(keys)))
        return super().get_many(keys)

    def set_many(self, decisions, ttl_seconds):
        self.calls.append(("set_many", len(decisions)))
        super().set_many(decisions, ttl_seconds)


def test_a_batch_is_one_cache_lookup_and_one_store(router, encoder):
    cache = CountingCache()
    queries = ["will it rain tomorrow", "book a flight to rome", "cancel my order"]

    first = router.route_batch(queries, encoder=encoder, cache=cache)
    second = router.route_batch([*queries, "is it sunny in oslo"], encoder=encoder, cache=cache)

    assert cache.calls == [("get_many", 3), ("set_many", 3), ("get_many", 4), ("set_many", 1)]
    assert [d.cached for d in second] == [True, True, True, False]
    assert [d.intent for d in second[:3]] == [d.intent for d in first]
