"""What counting one decision in the Prometheus metrics costs on the request path.

    .venv/bin/python bench/metrics_overhead.py                 # the process's own registry
    PROMETHEUS_MULTIPROC_DIR=$(mktemp -d) .venv/bin/python bench/metrics_overhead.py   # gunicorn's mode

Times analytics.metrics.decision_observe (what analytics.services.decision_record adds per
decision) for a routed-only decision and for a gateway decision with two attempts, in
microseconds per call (median of 5 rounds of 20,000 calls). No database is needed.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "semroute_site.settings")

import django  # noqa: E402

django.setup()

from analytics.metrics import MULTIPROCESS, decision_observe  # noqa: E402
from routing.engine.decision import Decision  # noqa: E402

CALLS = 20_000
INTENTS = ["billing", "refund", "shipping", "sales", None]
TIERS = ["gpt-4o-mini", "gpt-4o", "claude-sonnet-4"]


def decision(i: int) -> Decision:
    return Decision(
        intent=INTENTS[i % 5],
        handler=None,
        confidence=0.9,
        calibrated=False,
        stage="embedding",
        complexity="simple",
        tier=TIERS[i % 3],
        model="m",
        provider="openai",
        estimated_cost_usd=0.001,
        baseline_cost_usd=0.01,
        latency_ms=4.2,
        router_version=1,
        cached=i % 7 == 0,
    )


GATEWAY = {
    "escalations": 1,
    "attempts": [
        {
            "tier": "gpt-4o-mini",
            "provider": "openai",
            "outcome": "timeout",
            "latency_ms": 3000.0,
            "error": "timeout",
            "prompt_tokens": 50,
            "completion_tokens": 0,
        },
        {
            "tier": "gpt-4o",
            "provider": "openai",
            "outcome": "ok",
            "latency_ms": 800.0,
            "error": "",
            "prompt_tokens": 50,
            "completion_tokens": 200,
        },
    ],
}


def rounds(facts) -> float:
    decisions = [decision(i) for i in range(CALLS)]
    results = []
    for _ in range(5):
        started = time.perf_counter()
        for item in decisions:
            decision_observe(
                router_slug="support", decision=item, channel="api", gateway_facts=facts
            )
        results.append((time.perf_counter() - started) / CALLS * 1e6)
    return statistics.median(results)


if __name__ == "__main__":
    mode = "multiprocess files" if MULTIPROCESS else "in-process registry"
    print(
        f"{mode}: routed only {rounds(None):.1f} us/decision, gateway with 2 attempts {rounds(GATEWAY):.1f} us/decision"
    )
