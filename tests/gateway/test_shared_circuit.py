"""One circuit per upstream, shared: across processes through Redis (REDIS_URL), and between the
gateway and the LLM classification stage (an Anthropic-only deployment included)."""

import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache

from routing.decide import decide
from routing.engine.llm_stage import TIER_COOLING
from routing.engine.snapshot import TierSpec
from routing.models import ModelTier
from routing.providers import breaker as breakers
from routing.services.versioning import config_object_save, router_policy_update
from routing.snapshots import tier_spec
from tests.wire.anthropic_server import MessageReply

ROOT = Path(__file__).resolve().parents[2]
TIER = TierSpec("t", 1, "openai", "shared-model", 1.0, 1.0, 0.5, 0, "http://127.0.0.1:9/v1")
OPEN_IT = """
import django; django.setup()
from routing.engine.snapshot import TierSpec
from routing.providers.breaker import TierBreaker, BreakerPolicy
tier = TierSpec("t", 1, "openai", "shared-model", 1.0, 1.0, 0.5, 0, "http://127.0.0.1:9/v1")
TierBreaker(tier, policy=BreakerPolicy(failures=1)).failure("HTTP error 503 in another worker")
"""


@pytest.mark.skipif(not settings.REDIS_URL, reason="the shared circuit lives in Redis")
def test_a_circuit_opened_by_another_process_is_open_here():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "semroute_site.settings"}
    subprocess.run([sys.executable, "-c", OPEN_IT], check=True, cwd=ROOT, env=env)

    state = breakers.circuit_states([TIER])["t"]

    assert (state["state"], state["last_error"]) == ("open", "HTTP error 503 in another worker")
    with pytest.raises(breakers.CircuitOpen):
        breakers.TierBreaker(TIER).permit()


@pytest.mark.django_db
def test_the_llm_stage_skips_a_tier_whose_circuit_is_open(
    demo_router, anthropic_server, monkeypatch
):
    monkeypatch.setenv("SEMROUTE_KEY_ONLY_CLAUDE", "k")
    tier = ModelTier(
        router=demo_router,
        name="only-claude",
        rank=0,
        provider="anthropic",
        model="claude-classifier",
        base_url=anthropic_server.base_url,
        api_key_env="SEMROUTE_KEY_ONLY_CLAUDE",
        price_in_per_mtok=Decimal("0.01"),
        price_out_per_mtok=Decimal("0.01"),
        quality=0.3,
    )
    config_object_save(obj=tier)
    router_policy_update(router=demo_router, changes={"ambiguity_low": 0.0, "ambiguity_high": 1.0})
    demo_router.refresh_from_db()
    anthropic_server.default_reply = MessageReply(text='{"intent": "refund"}')
    assert decide(router=demo_router, query="I was charged twice, what now?").stage == "llm"
    for _ in range(breakers.BREAKER_POLICY.failures):  # the gateway's calls failed
        breakers.TierBreaker(tier_spec(tier)).failure("HTTP error 500")

    decision = decide(router=demo_router, query="money back for the double charge please")

    llm = next(stage for stage in decision.trace.stages if stage.stage == "llm")
    assert llm.outcome == TIER_COOLING
    assert len(anthropic_server.requests_to("/v1/messages")) == 1  # only the first decision


@pytest.mark.skipif(not settings.REDIS_URL, reason="the shared circuit lives in Redis")
def test_a_worker_trusts_a_clean_circuit_it_read_for_the_near_interval(settings):
    settings.SEMROUTE_CIRCUIT_NEAR_SECONDS = 0.3
    breaker = breakers.TierBreaker(TIER)
    assert breaker.permit() == "closed"  # read from Redis: clean
    opened = {"state": "open", "failures": [time.time()] * 3, "opened_at": time.time()}
    cache.set(breaker.key, {**opened, "last_error": "HTTP error 503 in another worker"}, 600)

    assert breaker.permit() == "closed"  # another worker's opening is seen up to 0.3 s late
    assert breakers.circuit_states([TIER])["t"]["state"] == "open"  # the tiers page: at once
    time.sleep(0.35)
    with pytest.raises(breakers.CircuitOpen):
        breaker.permit()


@pytest.mark.skipif(not settings.REDIS_URL, reason="the shared circuit lives in Redis")
def test_a_workers_own_failure_ends_its_trust_in_a_clean_reading(settings):
    settings.SEMROUTE_CIRCUIT_NEAR_SECONDS = 60
    policy = breakers.BreakerPolicy(failures=1)
    breaker = breakers.TierBreaker(TIER, policy=policy)
    assert breaker.permit() == "closed"

    breaker.failure("HTTP error 500")

    with pytest.raises(breakers.CircuitOpen):
        breaker.permit()
