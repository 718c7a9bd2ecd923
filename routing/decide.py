"""Route queries with a router's current configuration: the one entry point for API and console.

Wires the engine to Django: the compiled snapshot for the router's current version, the active
encoder, the decision cache (Redis-backed when REDIS_URL is set) and the LLM stage's client.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence

from django.conf import settings
from django.core.cache import cache

from routing.engine import Decision, LocalDecisionCache, OpenAIChatIntentLLM
from routing.engine.snapshot import Policy, RouterSnapshot
from routing.models import Router
from routing.snapshots import compiled_router
from routing.vectors import active_encoder

LLM_STAGE_TIMEOUT_SECONDS = 2.0

_local_decisions = LocalDecisionCache(max_entries=20_000)
_llm_clients: dict[tuple[str, str, str], OpenAIChatIntentLLM] = {}
_llm_lock = threading.Lock()
_llm_by_revision: dict[str, OpenAIChatIntentLLM | None] = {}


class SharedDecisionCache:
    """The engine's DecisionCache protocol over Django's cache (Redis in production)."""

    prefix = "semroute:decision:"

    def get_many(self, keys: list[str]) -> dict[str, Decision]:
        found = cache.get_many([self.prefix + key for key in keys])
        return {key.removeprefix(self.prefix): decision for key, decision in found.items()}

    def set_many(self, decisions: dict[str, Decision], ttl_seconds: int) -> None:
        if ttl_seconds > 0 and decisions:
            cache.set_many(
                {self.prefix + key: decision for key, decision in decisions.items()},
                timeout=ttl_seconds,
            )


_shared_decisions = SharedDecisionCache()


def decision_cache():
    """Shared across workers when a Redis cache is configured, else in this process."""
    return _shared_decisions if settings.REDIS_URL else _local_decisions


def intent_llm_for(snapshot: RouterSnapshot) -> OpenAIChatIntentLLM | None:
    """The LLM stage's classifier: the cheapest enabled OpenAI-protocol tier whose key is set.

    None when no such tier exists (the embedded default has no keys): ambiguous queries then
    keep the embedding stage's answer and the trace says the LLM stage was unavailable. The engine
    calls it only for confidences inside the policy's ambiguity band. Chosen once per revision.
    """
    if snapshot.fingerprint not in _llm_by_revision:
        _llm_by_revision[snapshot.fingerprint] = _cheapest_llm_tier_client(snapshot)
    return _llm_by_revision[snapshot.fingerprint]


def _cheapest_llm_tier_client(snapshot: RouterSnapshot) -> OpenAIChatIntentLLM | None:
    candidates = sorted(
        (t for t in snapshot.tiers if t.enabled and t.provider in ("openai", "openai-compatible")),
        key=lambda t: (t.price_in_per_mtok + t.price_out_per_mtok, t.rank),
    )
    for tier in candidates:
        api_key = os.environ.get(tier.api_key_env) if tier.api_key_env else None
        if not api_key and not (tier.provider == "openai-compatible" and tier.base_url):
            continue
        client_key = (tier.base_url, tier.api_key_env, tier.model)
        with _llm_lock:
            llm = _llm_clients.get(client_key)
            if llm is None:
                import openai

                client = openai.OpenAI(
                    api_key=api_key or "not-needed",
                    base_url=tier.base_url or None,
                    timeout=LLM_STAGE_TIMEOUT_SECONDS,
                    max_retries=0,
                )
                llm = _llm_clients[client_key] = OpenAIChatIntentLLM(client, tier.model)
        return llm
    return None


def decide(
    *, router: Router, query: str, policy: Policy | None = None, allow_stale: bool = False
) -> Decision:
    """Route one query with `router`'s current version (or an unsaved `policy` override).

    `allow_stale`: keep answering from the previous version while a new one compiles (API path).
    """
    return decide_batch(router=router, queries=[query], policy=policy, allow_stale=allow_stale)[0]


def decide_batch(
    *,
    router: Router,
    queries: Sequence[str],
    policy: Policy | None = None,
    allow_stale: bool = False,
) -> list[Decision]:
    """Route many queries at once (one encoder batch for the uncached ones), results in order."""
    compiled = compiled_router(router, allow_stale=allow_stale)
    return compiled.route_batch(
        list(queries),
        encoder=active_encoder(),
        llm=intent_llm_for(compiled.snapshot),
        cache=decision_cache(),
        policy=policy,
    )
