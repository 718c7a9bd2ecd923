"""Experiment fixtures: a router whose tiers are local wire servers (cheap and judge: OpenAI's
wire format; strong: Anthropic's), API clients from tests/api, and an after-commit runner."""

from __future__ import annotations

import pytest

from analytics.experiments.shadow import shadow_queue
from routing.services.config_apply import router_config_apply
from tests.api.conftest import _api_state, api, client_for, make_key  # noqa: F401
from tests.console.conftest import operator_client, viewer_client  # noqa: F401
from tests.wire.openai_server import OpenAIWireServer

CHEAP, JUDGE, STRONG = "gpt-4o-mini", "gpt-4o", "claude-sonnet-4"


@pytest.fixture(scope="session")
def judge_wire():
    with OpenAIWireServer() as server:
        yield server


@pytest.fixture
def judge_server(judge_wire):
    judge_wire.reset()
    yield judge_wire
    judge_wire.reset()


@pytest.fixture(autouse=True)
def _shadow_state():
    """The shadow worker thread stays off (it would write outside the test's transaction)."""
    autostart = shadow_queue.autostart
    shadow_queue.autostart = False
    shadow_queue.discard()
    yield
    shadow_queue.discard()
    shadow_queue.autostart = autostart


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def wire_router(
    db,
    demo_document,
    openai_server,
    judge_server,
    anthropic_server,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    """The demo router with no LLM stage; its tiers answer from the local servers."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-anthropic-key")
    urls = {CHEAP: openai_server.base_url, JUDGE: judge_server.base_url}
    for tier in demo_document["tiers"]:
        if tier["name"] in urls:
            tier.update(provider="openai-compatible", base_url=urls[tier["name"]], api_key_env="")
        else:
            tier.update(base_url=anthropic_server.base_url)
    demo_document["policy"].update(ambiguity_low=0.0, ambiguity_high=0.0)
    with django_capture_on_commit_callbacks(execute=True):
        result = router_config_apply(document=demo_document, summary="wire demo")
    assert result.applied, result.problems
    return result.router
