"""GET /metrics: Prometheus text (parsed with prometheus-client's parser), access rules, and the
whole server's counts under gunicorn's multiprocess mode."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families

from routing.services.api_keys import api_key_create

ROOT = Path(__file__).resolve().parents[2]


def _samples(text: str, name: str, **labels) -> float:
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def _route(client, key, query, **extra):
    return client.post(
        "/api/v1/routers/support/route",
        json.dumps({"query": query}),
        content_type="application/json",
        headers={"X-API-Key": key},
        **extra,
    )


@pytest.fixture
def route_key(demo_router):
    return api_key_create(name="metrics", scopes=["route"])[1]


def test_recorded_decisions_are_counted_by_router_intent_tier_stage_and_cache(client, route_key):
    before = client.get("/metrics").content.decode()
    assert _route(client, route_key, "where is my parcel").status_code == 200
    response = _route(client, route_key, "where is my parcel")  # the second is a cache hit
    decision = response.json()
    after = client.get("/metrics")
    assert after.status_code == 200 and after["Content-Type"].startswith("text/plain")
    text = after.content.decode()
    labels = {
        "router": "support",
        "intent": decision["intent"],
        "tier": decision["tier"],
        "channel": "api",
    }
    total = _samples(text, "semroute_decisions_total", **labels) - _samples(
        before, "semroute_decisions_total", **labels
    )
    cached = _samples(text, "semroute_decisions_total", cached="true", **labels) - _samples(
        before, "semroute_decisions_total", cached="true", **labels
    )
    assert (total, cached) == (2, 1)
    latency = _samples(
        text, "semroute_decision_latency_seconds_count", router="support"
    ) - _samples(before, "semroute_decision_latency_seconds_count", router="support")
    assert latency == 2
    assert "semroute_decision_log_pending" in text


def test_gateway_facts_count_provider_calls_errors_tokens_and_escalations(demo_router, client):
    from analytics.metrics import decision_observe
    from routing.decide import decide

    decision = decide(router=demo_router, query="my card was charged twice")
    facts = {
        "escalations": 1,
        "attempts": [
            {
                "tier": "cheap",
                "provider": "openai",
                "outcome": "timeout",
                "latency_ms": 30000.0,
                "error": "timeout",
                "prompt_tokens": 10,
                "completion_tokens": 0,
            },
            {
                "tier": "middle",
                "provider": "openai",
                "outcome": "ok",
                "latency_ms": 900.0,
                "error": "",
                "prompt_tokens": 10,
                "completion_tokens": 42,
            },
        ],
    }
    before = client.get("/metrics").content.decode()
    decision_observe(
        router_slug="support", decision=decision, channel="gateway", gateway_facts=facts
    )
    text = client.get("/metrics").content.decode()

    def delta(name, **labels):
        return _samples(text, name, **labels) - _samples(before, name, **labels)

    assert delta("semroute_provider_calls_total", tier="cheap", outcome="timeout") == 1
    assert delta("semroute_provider_calls_total", tier="middle", outcome="ok") == 1
    assert delta("semroute_provider_errors_total", tier="cheap") == 1
    assert delta("semroute_provider_errors_total", tier="middle") == 0
    assert delta("semroute_provider_tokens_total", tier="middle", kind="completion") == 42
    assert delta("semroute_provider_latency_seconds_count", tier="cheap") == 1
    assert delta("semroute_escalations_total", router="support", tier=decision.tier) == 1


def test_a_registered_circuit_source_shows_its_states(client):
    from analytics import metrics

    source = lambda: [("cheap", "open"), ("middle", "closed")]  # noqa: E731
    metrics.circuit_state_source_register(source)
    try:
        text = client.get("/metrics").content.decode()
    finally:
        metrics._circuit_sources.remove(source)
    assert _samples(text, "semroute_circuit_state", tier="cheap", state="open") == 1
    assert _samples(text, "semroute_circuit_state", tier="cheap", state="closed") == 0


def test_the_gateway_breakers_are_the_circuit_gauge(client, demo_router):
    from routing.providers.breaker import tier_breaker
    from routing.snapshots import tier_spec

    cheapest = demo_router.tiers.order_by("rank").first()
    breaker = tier_breaker(tier_spec(cheapest))
    for _ in range(breaker.policy.failures):
        breaker.failure("connection refused")
    try:
        text = client.get("/metrics").content.decode()
    finally:
        breaker.success()
    opened = f"support/{cheapest.name}"
    assert _samples(text, "semroute_circuit_state", tier=opened, state="open") == 1
    assert _samples(text, "semroute_circuit_state", tier=opened, state="closed") == 0
    others = demo_router.tiers.exclude(pk=cheapest.pk)
    for tier in others:
        assert (
            _samples(text, "semroute_circuit_state", tier=f"support/{tier.name}", state="closed")
            == 1
        )


def test_without_a_token_only_loopback_callers_are_answered(client, db):
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
    refused = client.get("/metrics", REMOTE_ADDR="10.1.2.3")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    assert "SEMROUTE_METRICS_TOKEN" in refused.json()["error"]["message"]


def test_with_a_token_every_caller_needs_it(client, db, settings):
    settings.SEMROUTE_METRICS_TOKEN = "scrape-me"
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "scrape-me"}):
        response = client.get("/metrics", REMOTE_ADDR="127.0.0.1", headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["error"]["code"] == "not_authenticated"
    ok = client.get(
        "/metrics", REMOTE_ADDR="10.1.2.3", headers={"Authorization": "Bearer scrape-me"}
    )
    assert ok.status_code == 200
    assert client.post("/metrics").status_code == 405


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_under_gunicorn_every_worker_answers_with_the_whole_servers_count(demo_router, tmp_path):
    assert connection.vendor == "postgresql"
    key = api_key_create(name="gunicorn metrics", scopes=["route"])[1]
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": os.environ["DATABASE_URL"].rsplit("/", 1)[0]
        + "/"
        + connection.settings_dict["NAME"],
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "semroute_site/gunicorn.conf.py",
            "semroute_site.wsgi",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60  # a hang guard, not a timed assertion
        while True:
            try:
                urllib.request.urlopen(base + "/api/v1/health", timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.5)
        for i in range(12):
            request = urllib.request.Request(
                base + "/api/v1/routers/support/route",
                data=json.dumps({"query": f"where is my parcel number {i}"}).encode(),
                headers={
                    "Content-Type": "application/json",
                    "X-API-Key": key,
                    "Connection": "close",
                },
            )
            assert urllib.request.urlopen(request, timeout=30).status == 200
        pids, counts = set(), []
        for _ in range(8):
            text = urllib.request.urlopen(base + "/metrics", timeout=10).read().decode()
            counts.append(_samples(text, "semroute_decisions_total", router="support"))
            pids |= {
                sample.labels.get("pid")
                for family in text_string_to_metric_families(text)
                for sample in family.samples
                if sample.name == "semroute_decision_log_pending"
            }
        assert counts == [12.0] * 8
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
