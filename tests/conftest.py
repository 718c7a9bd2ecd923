"""The named cast shared by the suite: an operator, a viewer, an outsider and the demo router."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest
from django.contrib.auth.models import Group

from routing.services.config_apply import router_config_apply

# The local OpenAI wire server (real SDK, real HTTP) for every suite.
pytest_plugins = ["tests.wire.fixtures"]

DEMO_FILE = Path(__file__).resolve().parents[1] / "routing" / "demo" / "support.json"
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

# In CI the tests marked `services` must run against the real PostgreSQL and Redis, never skip.
REQUIRE_SERVICES = os.environ.get("SEMROUTE_REQUIRE_SERVICES") == "1"


def pytest_collection_modifyitems(config, items):
    if REQUIRE_SERVICES:
        return
    broker = os.environ.get("CELERY_BROKER_URL", "")
    database = os.environ.get("DATABASE_URL", "")
    if broker.startswith("redis://") and database.startswith("postgres"):
        return
    skip = pytest.mark.skip(
        reason="needs DATABASE_URL=postgres://... and CELERY_BROKER_URL=redis://... (CI sets both)"
    )
    for item in items:
        if "services" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _eager_celery(settings, request):
    """Tasks run in-process unless a test starts a real worker (marked `services`)."""
    from semroute_site.celery import app

    eager = "services" not in request.keywords
    settings.SEMROUTE_EAGER_TASKS_INLINE = True  # a test sees its task's effects at once
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = eager
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _decision_log_flushed_by_tests():
    """No background flusher (the console's playground logs too): it would write on its own
    connection, outside the test's transaction; a test calls decision_log.flush() for its rows."""
    from analytics.decision_log import decision_log

    autostart = decision_log.autostart
    decision_log.autostart = False
    yield
    decision_log.discard()
    decision_log.autostart = autostart


class _JudgeDrawsHigh(random.Random):
    def random(self) -> float:
        return 0.99


@pytest.fixture(autouse=True)
def _judge_samples_only_when_asked(monkeypatch):
    """The LLM judge samples 2% of gateway answers by default: a test that did not ask for it
    (sample_percent 100, or its own draws) must not get an extra strongest-tier call by chance."""
    from analytics.experiments import judge

    monkeypatch.setattr(judge, "_random", _JudgeDrawsHigh())


@pytest.fixture(autouse=True)
def _runtime_caches_reset():
    """Every test starts with empty runtime caches (compiled routers, conflicts, LLM clients)."""
    from routing.runtime import runtime_reset

    runtime_reset()
    yield
    runtime_reset()


@pytest.fixture
def demo_document() -> dict:
    return json.loads(DEMO_FILE.read_text())


@pytest.fixture
def demo_router(db, demo_document, django_capture_on_commit_callbacks):
    # Tests run inside a transaction: run the after-commit work (vector computation) explicitly.
    with django_capture_on_commit_callbacks(execute=True):
        result = router_config_apply(document=demo_document, summary="demo")
    assert result.applied, result.problems
    return result.router


def _user(django_user_model, username: str, group: str | None = None, **extra):
    user = django_user_model.objects.create_user(
        username=username, password="pw-" + username, **extra
    )
    if group:
        user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


@pytest.fixture
def operator(db, django_user_model):
    return _user(django_user_model, "olivia", "operators")


@pytest.fixture
def viewer(db, django_user_model):
    return _user(django_user_model, "victor", "viewers")


@pytest.fixture
def outsider(db, django_user_model):
    return _user(django_user_model, "oscar")


@pytest.fixture
def superuser(db, django_user_model):
    return django_user_model.objects.create_superuser(username="root", password="pw-root")
