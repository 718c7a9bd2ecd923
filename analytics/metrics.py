"""Prometheus metrics: counted when a decision is recorded, served at GET /metrics.

Under gunicorn (semroute_site/gunicorn.conf.py sets PROMETHEUS_MULTIPROC_DIR) every worker writes
its samples to files in that folder and /metrics sums them with prometheus-client's
MultiProcessCollector, so any worker answers with the whole server's counts. Without the variable
(`make run`) the process's own registry is served.

Access: with SEMROUTE_METRICS_TOKEN set, `Authorization: Bearer <token>`; without it, loopback
callers only (set the token behind a proxy on the same host: the proxy is a loopback caller).

routing never imports this: analytics.services.decision_record calls decision_observe().
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

from analytics.decision_log import decision_log

logger = logging.getLogger("semroute.metrics")

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

DECISIONS = Counter(
    "semroute_decisions",
    "Routing decisions recorded, by router, intent, tier, stage, cache hit and channel.",
    ["router", "intent", "tier", "stage", "cached", "channel"],
)
DECISION_LATENCY = Histogram(
    "semroute_decision_latency_seconds",
    "Routing decision latency (the engine's, cache hits included).",
    ["router"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
PROVIDER_CALLS = Counter(
    "semroute_provider_calls",
    "Provider calls the gateway made, by tier, provider and outcome.",
    ["tier", "provider", "outcome"],
)
PROVIDER_ERRORS = Counter(
    "semroute_provider_errors",
    "Provider calls that failed, by tier and provider.",
    ["tier", "provider"],
)
PROVIDER_LATENCY = Histogram(
    "semroute_provider_latency_seconds",
    "Provider call latency, by tier.",
    ["tier"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60),
)
PROVIDER_TOKENS = Counter(
    "semroute_provider_tokens",
    "Tokens the providers counted, by tier and kind (prompt, completion).",
    ["tier", "kind"],
)
ESCALATIONS = Counter(
    "semroute_escalations",
    "Gateway escalations to a next tier, by router and routed tier.",
    ["router", "tier"],
)
LOG_PENDING = Gauge(
    "semroute_decision_log_pending",
    "Decisions waiting in the web workers' log buffers.",
    multiprocess_mode="livesum",
)
LOG_DEAD_LETTERS = Counter(
    "semroute_decision_log_dead_letters",
    "Decisions the database refused (sent to the dead-letter).",
)
LOG_DROPPED = Counter(
    "semroute_decision_log_dropped", "Decisions dropped: buffer full and the database unavailable."
)

# prometheus-client's labels() costs about 10 us (checks, a lock); a labelled child once made is
# reused from here: a dict lookup on the request path.
_children: dict[tuple, Any] = {}


def _child(metric, *labels: str):
    key = (metric, *labels)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*labels)
    return child


DEAD_LETTERS_CACHE_KEY = "semroute:metrics:dead_letters"
PUBLISH_EVERY_SECONDS = 1.0


class _LogCounts:
    """What this process last published of its decision log's counters."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.dead_lettered = 0
        self.dropped = 0
        self.pid = os.getpid()
        self.published_at = 0.0


_published = _LogCounts()


def log_counts_publish(*, force: bool = False) -> None:
    """Push this worker's buffer depth and new dead-letters/drops into the metrics (and the cache)."""
    now = time.monotonic()
    if not force and now - _published.published_at < PUBLISH_EVERY_SECONDS:
        return
    with _published.lock:
        if _published.pid != os.getpid():  # a forked worker starts from its own zero
            _published.pid, _published.dead_lettered, _published.dropped = os.getpid(), 0, 0
        _published.published_at = now
        LOG_PENDING.set(len(decision_log))
        dead, dropped = decision_log.dead_lettered, decision_log.dropped
        new_dead, new_dropped = dead - _published.dead_lettered, dropped - _published.dropped
        _published.dead_lettered, _published.dropped = dead, dropped
    if new_dropped > 0:
        LOG_DROPPED.inc(new_dropped)
    if new_dead > 0:
        LOG_DEAD_LETTERS.inc(new_dead)
        try:  # shared by every worker (Redis in production): what the dead-letter alert reads
            cache.add(DEAD_LETTERS_CACHE_KEY, 0, timeout=None)
            cache.incr(DEAD_LETTERS_CACHE_KEY, new_dead)
        except Exception:  # the cache being down must not fail a request
            logger.warning("Could not count %d dead-lettered decisions in the cache", new_dead)


def dead_letters_total() -> int:
    """Dead-lettered decisions counted by every web worker (since the cache was last cleared)."""
    log_counts_publish(force=True)
    try:
        return int(cache.get(DEAD_LETTERS_CACHE_KEY) or 0)
    except Exception:
        return 0


def decision_observe(
    *, router_slug: str, decision: Any, channel: str, gateway_facts: dict[str, Any] | None
) -> None:
    """Count one recorded decision (and what the gateway did with it). Never raises."""
    try:
        tier = decision.tier or ""
        _child(
            DECISIONS,
            router_slug,
            decision.intent or "",
            tier,
            decision.stage,
            "true" if decision.cached else "false",
            channel,
        ).inc()
        _child(DECISION_LATENCY, router_slug).observe(decision.latency_ms / 1000)
        if gateway_facts:
            _gateway_observe(router_slug, tier, gateway_facts)
        log_counts_publish()
    except Exception:  # metrics are never worth a failed request
        logger.exception("Counting a decision in the metrics failed")


def _gateway_observe(router_slug: str, tier: str, facts: dict[str, Any]) -> None:
    escalations = facts.get("escalations") or 0
    if escalations:
        _child(ESCALATIONS, router_slug, tier).inc(escalations)
    for attempt in facts.get("attempts") or ():
        called = str(attempt.get("tier") or tier)
        provider = str(attempt.get("provider") or "")
        _child(PROVIDER_CALLS, called, provider, str(attempt.get("outcome") or "")).inc()
        if attempt.get("error"):
            _child(PROVIDER_ERRORS, called, provider).inc()
        if attempt.get("latency_ms") is not None:
            _child(PROVIDER_LATENCY, called).observe(attempt["latency_ms"] / 1000)
        for kind in ("prompt", "completion"):
            tokens = attempt.get(f"{kind}_tokens")
            if tokens:
                _child(PROVIDER_TOKENS, called, kind).inc(tokens)


# Circuit breakers -------------------------------------------------------------------------------
# The gateway's breakers live in routing/providers/ (routing never imports analytics).
# circuit_state_source_register(fn) adds a source of (tier, state) pairs, state one of
# CIRCUIT_STATES; AnalyticsConfig.ready registers tier_circuit_pairs. With REDIS_URL the breakers
# are shared, so every worker reports the same states; without it, those of the worker that
# answers (hence the pid label).

CIRCUIT_STATES = ("closed", "open", "half_open")
_circuit_sources: list[Callable[[], Iterable[tuple[str, str]]]] = []


def circuit_state_source_register(source: Callable[[], Iterable[tuple[str, str]]]) -> None:
    if source not in _circuit_sources:
        _circuit_sources.append(source)


def tier_circuit_pairs() -> Iterable[tuple[str, str]]:
    """("router/tier", state) for every enabled tier: one read of the breaker's shared state each."""
    from routing.models import ModelTier
    from routing.providers.breaker import circuit_states
    from routing.snapshots import tier_spec

    for tier in ModelTier.objects.filter(enabled=True).select_related("router"):
        state = circuit_states([tier_spec(tier)])[tier.name]["state"]
        yield f"{tier.router.slug}/{tier.name}", state


class CircuitStateCollector:
    def collect(self):
        family = GaugeMetricFamily(
            "semroute_circuit_state",
            "1 for each tier's current circuit-breaker state (in the worker that answered).",
            labels=["tier", "state", "pid"],
        )
        for source in _circuit_sources:
            try:
                states = list(source())
            except Exception:
                logger.exception("A circuit-state source failed")
                continue
            for tier, state in states:
                for name in CIRCUIT_STATES:
                    family.add_metric(
                        [str(tier), name, str(os.getpid())], 1.0 if state == name else 0.0
                    )
        yield family


_circuit_collector = CircuitStateCollector()
if not MULTIPROCESS:
    REGISTRY.register(_circuit_collector)


# GET /metrics -----------------------------------------------------------------------------------


def metrics_text() -> bytes:
    log_counts_publish(force=True)
    if not MULTIPROCESS:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(_circuit_collector)
    return generate_latest(registry)


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(
        {"error": {"code": code, "message": message, "details": None}}, status=status
    )


def _loopback(request: HttpRequest) -> bool:
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    token = settings.SEMROUTE_METRICS_TOKEN
    if token:
        sent = request.headers.get("Authorization", "")
        if not sent.startswith("Bearer ") or not hmac.compare_digest(
            sent[7:].encode(), token.encode()
        ):
            response = _error(
                401,
                "not_authenticated",
                "GET /metrics needs Authorization: Bearer <SEMROUTE_METRICS_TOKEN>.",
            )
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    elif not _loopback(request):
        return _error(
            403,
            "permission_denied",
            "GET /metrics answers loopback callers only; set SEMROUTE_METRICS_TOKEN to scrape it "
            "from elsewhere with a Bearer token.",
        )
    return HttpResponse(metrics_text(), content_type=CONTENT_TYPE_LATEST)
