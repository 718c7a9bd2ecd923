"""The playground's Run (plain POST, streamed SSE, no keys) and the tiers page's gateway state
(circuit, today's calls and spend, context window) and "Test this tier", against the wire servers."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from routing.models import ModelTier
from routing.providers import breaker as breakers
from routing.services.versioning import config_object_save
from routing.snapshots import tier_spec
from tests.wire.openai_server import ChatReply

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _decision_log_in_the_test_transaction():
    """Run records decisions; the background flusher would write outside the test's transaction."""
    from analytics.decision_log import decision_log

    autostart = decision_log.autostart
    decision_log.autostart = False
    cache.clear()  # today's per-tier counters live in the shared cache
    yield
    decision_log.discard()
    decision_log.autostart = autostart


QUERY = "where is my parcel"  # the demo routes it to gpt-4o-mini


@pytest.fixture
def no_keys(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)


@pytest.fixture
def local_mini(demo_router, openai_server):
    """The demo's gpt-4o-mini on the local OpenAI server (no key needed there)."""
    tier = demo_router.tiers.get(name="gpt-4o-mini")
    tier.provider, tier.base_url, tier.api_key_env = "openai-compatible", openai_server.base_url, ""
    tier.model, tier.context_window = "mini-local", 8192
    config_object_save(obj=tier)
    return tier


def _run_url(router):
    return reverse("console:playground_run", kwargs={"slug": router.slug})


def test_run_without_keys_names_the_missing_variables(operator_client, demo_router, no_keys):
    response = operator_client.post(_run_url(demo_router), {"q": QUERY})

    page = response.content.decode()
    assert response.status_code == 200
    assert "No tier could answer" in page
    assert "set the environment variable OPENAI_API_KEY" in page
    assert "set the environment variable ANTHROPIC_API_KEY" in page
    assert page.count("<td>missing_key</td>") == 3  # every tier of the ladder, in the attempts


def test_run_shows_the_answer_and_its_attempts_without_javascript(
    operator_client, demo_router, local_mini, openai_server
):
    openai_server.replies_for("mini-local").append(ChatReply(content="Tracking says Tuesday."))

    page = operator_client.post(_run_url(demo_router), {"q": QUERY}).content.decode()

    assert "Tracking says Tuesday." in page
    assert "Answered by gpt-4o-mini." in page
    assert "<td>gpt-4o-mini</td><td>ok</td>" in page


def test_run_streams_the_gateways_sse_for_the_page_script(
    operator_client, demo_router, local_mini, openai_server
):
    openai_server.replies_for("mini-local").append(ChatReply(content="On its way."))

    response = operator_client.post(
        _run_url(demo_router), {"q": QUERY}, headers={"Accept": "text/event-stream"}
    )

    body = b"".join(response.streaming_content).decode()
    assert response["Content-Type"] == "text/event-stream"
    assert '"content": "On"' in body and '"content": " its"' in body
    assert '"semroute": {' in body and body.endswith("data: [DONE]\n\n")


def test_viewers_cannot_run(viewer_client, demo_router):
    assert viewer_client.post(_run_url(demo_router), {"q": QUERY}).status_code == 403


def test_tiers_page_shows_circuit_spend_and_context(
    operator_client, demo_router, local_mini, openai_server, monkeypatch
):
    monkeypatch.setattr(breakers, "BREAKER_POLICY", breakers.BreakerPolicy(failures=1))
    openai_server.replies_for("mini-local").append(
        ChatReply(content="ok", prompt_tokens=1000, completion_tokens=1000)
    )
    operator_client.post(_run_url(demo_router), {"q": QUERY})
    breakers.TierBreaker(
        tier_spec(ModelTier.objects.get(name="gpt-4o", router=demo_router))
    ).failure("HTTP error 500: upstream down")

    page = operator_client.get(
        reverse("console:tiers", kwargs={"slug": demo_router.slug})
    ).content.decode()

    assert "8192 tokens" in page
    assert "1 call<br>$0.000750" in page  # 1000 in at $0.15/M + 1000 out at $0.60/M
    assert '<span class="badge warn">open</span>' in page
    assert "last error: HTTP error 500: upstream down" in page


def test_test_this_tier_reports_the_answer_or_the_failure(
    operator_client, demo_router, local_mini, openai_server, no_keys
):
    openai_server.replies_for("mini-local").append(ChatReply(content="OK"))
    tiers_url = reverse("console:tiers", kwargs={"slug": demo_router.slug})
    sonnet = demo_router.tiers.get(name="claude-sonnet-4")

    ok = operator_client.post(
        reverse("console:tier_test", kwargs={"slug": demo_router.slug, "pk": local_mini.pk}),
        follow=True,
    )
    failed = operator_client.post(
        reverse("console:tier_test", kwargs={"slug": demo_router.slug, "pk": sonnet.pk}),
        follow=True,
    )

    assert ok.redirect_chain[-1][0] == tiers_url
    assert "Tier gpt-4o-mini answered &#x27;OK&#x27;" in ok.content.decode()
    assert openai_server.requests_to("/v1/chat/completions")[0]["max_tokens"] == 16
    assert (
        "Tier claude-sonnet-4 failed (missing_key): no API key: set the environment variable "
        "ANTHROPIC_API_KEY" in failed.content.decode()
    )
