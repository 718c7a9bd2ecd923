"""Routing latency with an experiment running vs none, in one process, rounds interleaved.

    .venv/bin/python bench/experiment_overhead.py [--requests 3000] [--block 100] [--root DIR]

POSTs `/api/v1/routers/support/route` through Django's test client (the whole request path:
auth, validation, routing, the decision-log buffer, serialisation; no socket) with a new
user_id per request and a small set of repeated demo queries (decision-cache hits, so the
routing itself is as cheap as it gets and any per-request experiment cost shows). Modes:

- none: no experiment (the baseline, same process and run);
- assign: an experiment whose two arms use the router's own configuration (+5% control): the
  arm lookup, the hash and the response's experiment field;
- policy: a second arm with a policy override (cache TTL 301 s, routing otherwise equal): also
  the per-request policy validation and digest.

The modes take turns in blocks of `--block` requests. Then the routing call without HTTP
(decide_for_caller, 20x as many calls, in turns of 20x the block), then the experiment step alone (the
plan lookup, hash and arm policy) is timed 20,000 times per mode. `--root /work/wt-base --only
none` runs the baseline mode in another tree (before experiments).
Creates and drops the PostgreSQL database `semroute_exp_bench` on 127.0.0.1 (user postgres).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

DATABASE = "semroute_exp_bench"
QUERIES = [
    "please give me my money back for the broken blender I bought",
    "why am I being billed two times for the same month",
    "my app keeps crashing whenever I start it",
    "where is my parcel",
    "I want to cancel my subscription",
    "hi there",
]


def _psql(sql: str) -> None:
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c", sql],
        check=True,
        capture_output=True,
    )


def _setup(root: Path):
    sys.path.insert(0, str(root))
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
    os.environ.pop("REDIS_URL", None)  # local-memory decision cache: no network in the numbers
    os.environ.pop("CELERY_BROKER_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "semroute_site.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from routing.services.api_keys import api_key_create
    from routing.services.config_apply import router_config_apply

    document = json.loads((root / "routing" / "demo" / "support.json").read_text())
    router = router_config_apply(document=document, summary="bench").router
    _, raw_key = api_key_create(
        name="bench", scopes=["route"], routers=[], rate_limit_per_minute=1_000_000_000
    )
    return router, raw_key


def _measure(client, key: str, requests: int, offset: int) -> list[float]:
    timings = []
    for index in range(requests):
        body = json.dumps({"query": QUERIES[index % len(QUERIES)], "user_id": f"u{offset + index}"})
        start = time.perf_counter()
        response = client.post(
            "/api/v1/routers/support/route",
            body,
            content_type="application/json",
            headers={"X-API-Key": key},
        )
        timings.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"route answered {response.status_code}: {response.content[:300]}")
    return timings


def _mode_set(router, mode: str):
    from analytics.experiments.models import Experiment

    Experiment.objects.filter(status="running").update(status="stopped")
    from analytics.experiments.plans import plans_forget

    plans_forget(router.pk)
    if mode == "none":
        return
    from analytics.experiments.services import experiment_create

    second = {"name": "b", "weight": 1}
    if mode == "policy":
        second["policy"] = {"cache_ttl_seconds": 301}
    experiment_create(
        router=router, name=f"bench {mode}", arms=[{"name": "a", "weight": 1}, second]
    )


def _step_micros(router, calls: int) -> dict[str, float]:
    """Median microseconds of the experiment step alone: hooks.experiment_for, the arm's hash
    and lookup, and its policy (what decide_for_caller adds before routing)."""
    from routing.decide import arm_policy
    from routing.decision_hooks import hooks
    from routing.snapshots import compiled_router

    snapshot = compiled_router(router).snapshot
    timings = []
    for index in range(calls):
        start = time.perf_counter_ns()
        plan = hooks.experiment_for(router)
        if plan is not None:
            arm, _ = plan.arm_for(user_id=f"u{index}", session_id=None)
            arm_policy(plan, arm, snapshot)
        timings.append((time.perf_counter_ns() - start) / 1000)
    return statistics.median(timings)


def _decide_block(router, calls: int, offset: int) -> list[float]:
    """Microseconds per routing call as the route API makes it (decide_for_caller; in a tree
    without experiments, decide_batch), without HTTP."""
    try:
        from routing.decide import decide_for_caller
    except ImportError:  # the baseline tree
        from routing.decide import decide_batch

        def decide_for_caller(*, router, queries, user_id, session_id=None):
            return decide_batch(router=router, queries=queries), None

    timings = []
    for index in range(calls):
        query = QUERIES[index % len(QUERIES)]
        start = time.perf_counter_ns()
        decide_for_caller(router=router, queries=[query], user_id=f"u{offset + index}")
        timings.append((time.perf_counter_ns() - start) / 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000, help="per mode")
    parser.add_argument("--block", type=int, default=100, help="requests per mode in turn")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--only", choices=["none", "assign", "policy"], default=None)
    options = parser.parse_args()
    _psql(f"drop database if exists {DATABASE} with (force)")
    _psql(f"create database {DATABASE}")
    try:
        router, key = _setup(options.root.resolve())
        from django.test import Client

        client = Client()
        modes = [options.only] if options.only else ["none", "assign", "policy"]
        for mode in modes:  # warm every strategy's decision cache and compiled classifier
            if not options.only:
                _mode_set(router, mode)
            _measure(client, key, 300, 0)
        # Modes take turns in small blocks, so each sees the same machine load (other work on
        # the machine changes it from minute to minute).
        results: dict[str, list[float]] = {mode: [] for mode in modes}
        offset = 1000
        while len(results[modes[-1]]) < options.requests:
            for mode in modes:
                if not options.only:
                    _mode_set(router, mode)
                results[mode].extend(_measure(client, key, options.block, offset))
                offset += options.block
        print(
            f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
            f"python {platform.python_version()}, load {os.getloadavg()[0]:.1f}"
        )
        for mode, timings in results.items():
            print(
                f"route {mode:>6}: p50 {statistics.median(timings):.3f} ms"
                f"  p95 {statistics.quantiles(timings, n=20)[18]:.3f} ms  (n={len(timings)})"
            )
        decided: dict[str, list[float]] = {mode: [] for mode in modes}
        while len(decided[modes[-1]]) < 20 * options.requests:
            for mode in modes:
                if not options.only:
                    _mode_set(router, mode)
                decided[mode].extend(_decide_block(router, 20 * options.block, offset))
                offset += 20 * options.block
        for mode, timings in decided.items():
            print(
                f"decide {mode:>6}: p50 {statistics.median(timings):.1f} us"
                f"  p95 {statistics.quantiles(timings, n=20)[18]:.1f} us  (n={len(timings)})"
            )
        if not options.only:
            for mode in modes:
                _mode_set(router, mode)
                print(f"step  {mode:>6}: median {_step_micros(router, 20_000):.2f} us (n=20000)")
    finally:
        from django.db import connections

        connections.close_all()
        _psql(f"drop database if exists {DATABASE} with (force)")


if __name__ == "__main__":
    main()
