"""Generated decision-log traffic for the dashboard tests: rows written the way the log writes them,
and a module-wide database for the tests that only read such traffic."""

from __future__ import annotations

import json
import random
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import TestCase

from analytics.decision_log import decision_rows_write
from analytics.models import DecisionLog, Feedback
from routing.services.config_apply import router_config_apply
from tests.conftest import DEMO_FILE, _user

NOW = datetime(2026, 3, 30, 12, 30, tzinfo=UTC)  # a Monday
TIERS = ("cheap", "middle", "powerful")


def decision_row(router, created_at: datetime, **fields) -> DecisionLog:
    values = {
        "intent": "refund",
        "confidence": 0.9,
        "stage": "embedding",
        "complexity": "simple",
        "tier": "cheap",
        "model": "gpt-4o-mini",
        "provider": "openai",
        "estimated_cost_usd": 0.001,
        "baseline_cost_usd": 0.01,
        "latency_ms": 5.0,
        "channel": "api",
        "trace": {"stages": []},
    }
    values.update(fields)
    return DecisionLog(
        id=uuid.uuid4(),
        router_id=router.pk,
        router_version=router.version,
        query=values.pop("query", "where is my refund"),
        created_at=created_at,
        **values,
    )


def generated_traffic(router, *, seed: int = 7, count: int = 600, days: int = 3):
    """Varied rows over `days` days before NOW: tiers, stages, channels, arms, gateway facts."""
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        tier = rng.choice(TIERS)
        gateway = rng.random() < 0.5
        llm = rng.random() < 0.2
        fields = {
            "intent": rng.choice(["refund", "cancel", "track", None]),
            "tier": tier,
            "stage": "llm" if llm else rng.choice(["embedding", "rule", "fallback"]),
            "channel": rng.choice(["api", "batch", "gateway", "playground"]),
            "experiment_id": rng.choice([None, 3]),
            "experiment_arm": "",
            "estimated_cost_usd": rng.uniform(0.0001, 0.02),
            "baseline_cost_usd": rng.uniform(0.02, 0.05),
            "latency_ms": rng.lognormvariate(1.5, 1.0),
            "cached": rng.random() < 0.1,
            "blocked": rng.random() < 0.05,
            "reasked": rng.random() < 0.07,
            "language": rng.choice(["en", "en", "de", ""]),
            "trace": {
                "stages": [
                    {"stage": "encode", "micros": 900, "outcome": "minilm"},
                    *(
                        [
                            {
                                "stage": "llm",
                                "micros": 50_000,
                                "outcome": rng.choice(
                                    ["chose refund", "failed: timeout", "budget exhausted"]
                                ),
                            }
                        ]
                        if llm
                        else []
                    ),
                ]
            },
        }
        if fields["experiment_id"]:
            fields["experiment_arm"] = rng.choice(["control", "treatment"])
        if gateway:
            fields.update(
                escalations=rng.choice([0, 0, 0, 1, 2]),
                actual_cost_usd=rng.uniform(0.0001, 0.03),
                provider_latency_ms=rng.lognormvariate(6.0, 0.6),
                ttft_ms=rng.lognormvariate(5.0, 0.5),
                prompt_tokens=rng.randint(10, 500),
                completion_tokens=rng.randint(10, 800),
                answer_tier=tier,
            )
        created_at = NOW - timedelta(seconds=rng.uniform(0, days * 86400))
        rows.append(decision_row(router, created_at, **fields))
    decision_rows_write(rows)
    feedback = []
    for row in rng.sample(rows, count // 5):
        feedback.append(Feedback(decision_id=row.id, rating=rng.choice(["up", "down", "down"])))
    Feedback.objects.bulk_create(feedback)
    return rows


# Out-of-scope queries of the new-cluster tests (test_clusters.py, tests/browser): the weather
# is asked in the four weeks before and again this week (not new), bitcoin only this week (new).
WEATHER = [
    "what is the weather in paris tomorrow",
    "weather in paris today",
    "will it rain in paris tomorrow",
    "paris weather forecast this week",
    "is it sunny in paris today",
    "how cold is it in paris tonight",
]
BITCOIN = [
    "what is the bitcoin price today",
    "bitcoin price right now",
    "how much is bitcoin worth today",
    "what is the price of one bitcoin",
    "current bitcoin price in euros",
    "bitcoin price this morning",
]
POEM = ["write me a poem about the sea"]  # new, but two decisions: under the minimum size


def out_of_scope_rows(
    router, queries, *, days_ago: float, times: int = 1, now: datetime = NOW
) -> list[DecisionLog]:
    """Out-of-scope decisions of `queries` (each `times` times) about `days_ago` before `now`."""
    rows = []
    for repeat in range(times):
        for index, query in enumerate(queries):
            moment = now - timedelta(days=days_ago, minutes=7 * index + 60 * repeat)
            rows.append(decision_row(router, moment, query=query, intent=None, confidence=0.2))
    return rows


@contextmanager
def shared_database(django_db_blocker):
    """Data a whole module reads, written once in a transaction rolled back after the module.

    Each test still runs in its own savepoint inside it (pytest-django's `db`), so whatever a
    test writes is rolled back at its end and the next test sees the shared data as built.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        yield
        transaction.set_rollback(True)


def shared_cast() -> dict:
    """The demo router (vectors computed), an operator and a viewer, as tests/conftest.py makes them."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        result = router_config_apply(document=json.loads(DEMO_FILE.read_text()), summary="demo")
    assert result.applied, result.problems
    users = get_user_model()
    return {
        "demo_router": result.router,
        "operator": _user(users, "olivia", "operators"),
        "viewer": _user(users, "victor", "viewers"),
    }


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """The cast's users are made per test; PBKDF2's 0.2-0.4 s per user tests nothing here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def traffic(demo_router):
    return generated_traffic(demo_router)


@pytest.fixture(autouse=True)
def _decision_log_quiet():
    """No background flusher (it would write outside the test's transaction); nothing left queued."""
    from django.core.cache import cache

    from analytics.decision_log import decision_log

    autostart = decision_log.autostart
    decision_log.autostart = False
    cache.clear()  # dashboard tables are cached per rollup run
    yield
    decision_log.discard()
    decision_log.autostart = autostart
