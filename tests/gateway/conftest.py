"""The gateway's cast: the demo router with its three tiers pointed at the local wire servers
(gpt-4o-mini and gpt-4o at the OpenAI server, claude-sonnet-4 at the Anthropic one), a key with
the `gateway` scope, and the real `openai` SDK pointed at Django's live server."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from analytics.decision_log import decision_log
from analytics.models import DecisionLog
from routing.auth import principals_forget, routers_forget
from routing.services.api_keys import api_key_create
from routing.services.config_apply import router_config_apply

MINI, FOUR_O, SONNET = "mini-local", "4o-local", "claude-local"
OPENAI_KEY, CLAUDE_KEY = "SEMROUTE_KEY_GW_OPENAI", "SEMROUTE_KEY_GW_CLAUDE"
# Routes to gpt-4o-mini (a simple question) / claude-sonnet-4 (the card-number rule's minimum).
SIMPLE = "where is my parcel"
CARD = "my card 4111 1111 1111 1111 was charged twice"


@pytest.fixture(autouse=True)
def _gateway_state(monkeypatch):
    autostart = decision_log.autostart
    decision_log.autostart = False
    principals_forget()
    routers_forget()
    cache.clear()
    monkeypatch.setenv(OPENAI_KEY, "sk-local-openai")
    monkeypatch.setenv(CLAUDE_KEY, "sk-local-claude")
    yield
    decision_log.discard()
    decision_log.autostart = autostart
    cache.clear()


def gateway_document(demo_document: dict, openai_url: str, anthropic_url: str, **tier_fields):
    """The demo router's document with its tiers on the wire servers; tier_fields[name] overrides."""
    wiring = {
        "gpt-4o-mini": {
            "provider": "openai-compatible",
            "model": MINI,
            "base_url": openai_url,
            "api_key_env": "",
        },
        "gpt-4o": {
            "provider": "openai",
            "model": FOUR_O,
            "base_url": openai_url,
            "api_key_env": OPENAI_KEY,
        },
        "claude-sonnet-4": {
            "provider": "anthropic",
            "model": SONNET,
            "base_url": anthropic_url,
            "api_key_env": CLAUDE_KEY,
        },
    }
    for tier in demo_document["tiers"]:
        tier.update(wiring[tier["name"]], max_retries=0, timeout_seconds=3.0)
        tier.update(tier_fields.get(tier["name"].replace("-", "_").replace(".", "_"), {}))
    # No LLM classification stage: its calls would take the replies queued for the answers.
    demo_document["policy"].update(ambiguity_low=0.0, ambiguity_high=0.0)
    demo_document["rules"].append(
        {
            "kind": "keyword",
            "pattern": "jailbreak",
            "priority": 200,
            "action": "block",
            "reason": "That is not something this assistant does.",
        }
    )
    return demo_document


@pytest.fixture
def make_gateway_router(transactional_db, demo_document, openai_server, anthropic_server):
    def make(**tier_fields):
        document = gateway_document(
            demo_document, openai_server.base_url, anthropic_server.base_url, **tier_fields
        )
        result = router_config_apply(document=document, summary="gateway tests")
        assert result.applied, result.problems  # vectors: computed on commit (eager Celery)
        return result.router

    return make


@pytest.fixture
def gateway_router(make_gateway_router):
    return make_gateway_router()


@pytest.fixture
def gateway_key(transactional_db):
    def make(scopes=("gateway", "feedback"), routers=()):
        _, raw = api_key_create(name="gateway test", scopes=list(scopes), routers=list(routers))
        return raw

    return make


@pytest.fixture
def sdk(live_server, gateway_key):
    """The real OpenAI SDK pointed at the gateway, as an app would configure it."""
    import openai

    def make(key: str | None = None):
        return openai.OpenAI(
            base_url=f"{live_server.url}/api/v1", api_key=key or gateway_key(), max_retries=0
        )

    return make


@pytest.fixture
def client(sdk, gateway_router):
    return sdk()


def logged(decision_id: str) -> DecisionLog:
    decision_log.flush()
    return DecisionLog.objects.get(pk=decision_id)
