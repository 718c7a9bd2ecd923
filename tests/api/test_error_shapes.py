"""Every error from /api/ is the one JSON shape; health keeps internals for operators (issue 9, item 7)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import timezone

from analytics.decision_log import decision_log
from analytics.models import DecisionLog
from routing import snapshots
from routing.auth import routers_forget
from routing.models import Rule
from tests.api.conftest import APIClient, error_of

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/nope"),
        ("post", "/api/v1/routers/support/nope"),
        ("get", "/api/v2/routers"),
        ("get", "/api/"),
        ("delete", "/api/v1/decisions/x/y/z"),
    ],
)
def test_an_unknown_api_path_is_a_json_404(api, demo_router, method, path):
    response = getattr(api.client, method)(path, headers={"X-API-Key": api.key})
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert error_of(response)["code"] == "not_found"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("delete", "/api/v1/health", "GET"),
        ("get", "/api/v1/routers/support/route", "POST"),
        ("put", "/api/v1/decisions", "GET"),
        ("patch", "/api/v1/routers/support/config", "GET, PUT"),
    ],
)
def test_a_wrong_method_is_a_json_405_with_allow(api, demo_router, method, path, allowed):
    response = getattr(api.client, method)(path, headers={"X-API-Key": api.key})
    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/json")
    error = error_of(response)
    assert error["code"] == "method_not_allowed"
    assert set(error["details"]["allowed"]) == set(allowed.split(", "))
    assert set(response["Allow"].replace(" ", "").split(",")) == set(allowed.split(", "))


def test_console_404s_stay_html(client, operator):
    client.force_login(operator)
    response = client.get("/routers/no-such-router/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


# Health ----------------------------------------------------------------------------------------

CACHE_DOWN = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
    }
}


def test_anonymous_health_shows_status_per_part_only(db):
    body = APIClient().get("health").json()
    assert body["status"] in ("ok", "degraded")
    for check in body["checks"].values():
        assert set(check) == {"ok", "required"}
    assert "decision_log" not in body


def test_anonymous_health_hides_hosts_and_driver_errors_when_down(db, settings):
    settings.CACHES = CACHE_DOWN
    response = APIClient().get("health")
    assert response.status_code == 503
    error = error_of(response)
    assert error["details"]["checks"]["cache"] == {"ok": False, "required": True}
    assert "127.0.0.1" not in response.content.decode()
    assert "cache" in error["message"]


def test_a_valid_key_sees_health_details(client_for, settings):
    settings.CACHES = CACHE_DOWN
    response = client_for(scopes=["feedback"]).get("health")
    assert response.status_code == 503
    cache_check = error_of(response)["details"]["checks"]["cache"]
    assert "127.0.0.1:1" in cache_check["detail"] or "Error" in cache_check["detail"]
    assert "latency_ms" in cache_check


def test_an_unknown_key_sees_no_health_details(db):
    body = APIClient("sr_not_a_key").get("health").json()
    assert all(set(check) == {"ok", "required"} for check in body["checks"].values())


def test_the_setting_shows_health_details_to_everyone(db, settings):
    settings.SEMROUTE_HEALTH_DETAILS = True
    body = APIClient().get("health").json()
    assert body["checks"]["database"]["detail"]
    assert set(body["decision_log"]) == {"pending", "written", "dropped", "dead_lettered"}


@pytest.fixture
def fresh_log_counters():
    saved = decision_log.dead_lettered, decision_log.dropped
    decision_log.dead_lettered = decision_log.dropped = 0
    yield decision_log
    decision_log.dead_lettered, decision_log.dropped = saved


def test_health_counts_dead_lettered_decisions(api, demo_router, fresh_log_counters):
    assert api.get("health").json()["decision_log"]["dead_lettered"] == 0
    decision_log.append(  # past the API's validation: only a bug could queue it
        DecisionLog(
            router_id=demo_router.pk,
            router_version=1,
            query="bad \udc00",
            confidence=0.0,
            stage="embedding",
            complexity="simple",
            latency_ms=1.0,
            created_at=timezone.now(),
        )
    )
    decision_log.flush()
    body = api.get("health").json()
    assert body["decision_log"]["dead_lettered"] == 1
    assert body["status"] == "degraded"
    assert APIClient().get("health").json()["status"] == "degraded"


# Engine errors ---------------------------------------------------------------------------------


def test_a_configuration_that_cannot_compile_is_409_saying_what_to_do(api, demo_router):
    # A regex the form would refuse, written straight to the table (as a faulty import could).
    Rule.objects.filter(router=demo_router, kind="regex").update(pattern="(unclosed")
    demo_router.bump_version()
    routers_forget()
    # A worker that has no earlier version to keep serving (a fresh one) must compile this one.
    snapshots._compiled.pop(demo_router.pk, None)
    response = api.post(f"routers/{demo_router.slug}/route", {"query": "where is my parcel"})
    assert response.status_code == 409, response.content
    error = error_of(response)
    assert error["code"] == "router_config_invalid"
    assert "regex" in error["message"] and "console" in error["message"]


def test_an_encoder_mismatch_is_503_saying_what_to_do(api, demo_router, settings):
    assert api.post(f"routers/{demo_router.slug}/route", {"query": "hello"}).status_code == 200
    other = {"minilm-l6-v2-int8-fast": "minilm-l6-v2-int8"}.get(
        settings.SEMROUTE_ENCODER, "minilm-l6-v2-int8-fast"
    )
    settings.SEMROUTE_ENCODER = other  # the compiled snapshot's vectors are the old encoder's
    response = api.post(f"routers/{demo_router.slug}/route", {"query": "where is my parcel"})
    assert response.status_code == 503, response.content
    error = error_of(response)
    assert error["code"] == "encoder_mismatch"
    assert "compute_vectors" in error["message"]


# PostgreSQL down -------------------------------------------------------------------------------

DATABASE_DOWN_PROBE = """
import json, django
django.setup()
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
client = Client(raise_request_exception=False)
client.cookies["sessionid"] = "a" * 32
results = {}
for name, method, path, data in [
    ("login_page", "get", "/accounts/login/", None),
    ("login_post", "post", "/accounts/login/", {"username": "olivia", "password": "pw"}),
    ("console", "get", "/", None),
    ("health", "get", "/api/v1/health", None),
    ("route", "post", "/api/v1/routers/support/route", None),
]:
    # secure: production settings may redirect plain HTTP to HTTPS before any view runs
    kwargs = {"secure": True, "headers": {"X-API-Key": "sr_any"} if name == "route" else {}}
    if name == "route":
        response = client.post(path, '{"query": "hi"}', content_type="application/json", **kwargs)
    else:
        response = getattr(client, method)(path, data or {}, **kwargs)
    results[name] = {
        "status": response.status_code,
        "type": response["Content-Type"],
        "body": response.content.decode()[:3000],
    }
print(json.dumps(results))
"""


@pytest.mark.parametrize("debug", ["1", "0"])
def test_with_postgresql_down_pages_are_a_friendly_503_and_the_api_json(debug):
    env = {
        **os.environ,
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/semroute_down",  # nothing listens on 1
        "DJANGO_SETTINGS_MODULE": "semroute_site.settings",
        "DEBUG": debug,
        "SECRET_KEY": "a-real-enough-secret-key-for-this-probe-0123456789",
        "ALLOWED_HOSTS": "testserver",
    }
    env.pop("REDIS_URL", None)
    env.pop("CELERY_BROKER_URL", None)
    probe = subprocess.run(
        [sys.executable, "-c", DATABASE_DOWN_PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert probe.returncode == 0, probe.stderr[-3000:]
    results = json.loads(probe.stdout.strip().splitlines()[-1])
    for page in ("login_post", "console"):
        assert results[page]["status"] == 503, results[page]
        assert results[page]["type"].startswith("text/html")
        assert "briefly unavailable" in results[page]["body"]
        assert "Traceback" not in results[page]["body"]
    assert results["login_page"]["status"] in (200, 503)
    for endpoint in ("health", "route"):
        assert results[endpoint]["status"] == 503, results[endpoint]
        body = json.loads(results[endpoint]["body"])
        assert body["error"]["code"] == "unavailable"
        assert "127.0.0.1" not in results[endpoint]["body"]
        assert "5432" not in results[endpoint]["body"] and ":1" not in results[endpoint]["body"]
