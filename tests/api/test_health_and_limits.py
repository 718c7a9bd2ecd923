import pytest

from routing import ratelimit
from tests.api.conftest import APIClient, error_of

pytestmark = pytest.mark.django_db


def test_health_reports_every_part_without_a_key(db):
    response = APIClient().get("health")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body["checks"]) == {"database", "cache", "broker", "encoder"}
    assert body["checks"]["database"]["ok"] and body["checks"]["encoder"]["ok"]


def test_health_is_503_when_the_cache_is_down(db, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    response = APIClient().get("health")
    assert response.status_code == 503
    error = error_of(response)
    assert error["code"] == "unavailable"
    assert error["details"]["checks"]["cache"]["ok"] is False


def test_health_is_degraded_not_down_without_the_broker(db, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = APIClient().get("health")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["broker"]["ok"] is False


def test_routing_is_503_not_500_when_the_cache_is_down(api, demo_router, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    response = api.post(f"routers/{demo_router.slug}/route", {"query": "hello"})
    assert response.status_code == 503
    assert error_of(response)["code"] == "unavailable"


def test_rate_limit_is_per_key_with_retry_after(make_key, demo_router, monkeypatch):
    monkeypatch.setattr(ratelimit.time, "time", lambda: 1_800_000_015.0)  # 15 s into a window
    limited = APIClient(make_key(rate_limit_per_minute=3))
    other = APIClient(make_key())
    for _ in range(3):
        assert (
            limited.post(f"routers/{demo_router.slug}/route", {"query": "hello"}).status_code == 200
        )
    response = limited.post(f"routers/{demo_router.slug}/route", {"query": "hello"})
    assert response.status_code == 429
    assert response["Retry-After"] == "45"
    assert error_of(response)["code"] == "rate_limited"
    assert other.post(f"routers/{demo_router.slug}/route", {"query": "hello"}).status_code == 200
    monkeypatch.setattr(ratelimit.time, "time", lambda: 1_800_000_060.0)  # the next window
    assert limited.post(f"routers/{demo_router.slug}/route", {"query": "hello"}).status_code == 200


def test_request_body_over_the_upload_limit_is_413(api, demo_router, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api.post(f"routers/{demo_router.slug}/route/batch", {"queries": ["x" * 100] * 20})
    assert response.status_code == 413
    assert error_of(response)["code"] == "request_too_large"


def test_openapi_documents_every_endpoint(db):
    paths = APIClient().client.get("/api/openapi.json").json()["paths"]
    assert {
        "/api/v1/routers/{slug}/route",
        "/api/v1/routers/{slug}/route/batch",
        "/api/v1/routers",
        "/api/v1/routers/{slug}/config",
        "/api/v1/decisions",
        "/api/v1/decisions/{decision_id}",
        "/api/v1/decisions/{decision_id}/feedback",
        "/api/v1/health",
    } <= set(paths)
    assert APIClient().client.get("/api/docs").status_code == 200
