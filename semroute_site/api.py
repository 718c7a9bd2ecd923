"""The one NinjaAPI: every app mounts its Router under /api/v1/; one error shape everywhere.

Every error is `{"error": {"code", "message", "details"}}`, produced by the handlers registered
here: a traceback never reaches a client, and bad input is always a 4xx.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache, caches
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError, connection
from django.http import Http404, HttpRequest, HttpResponse
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from analytics.decision_log import decision_log
from routing.auth import APIKeyAuth, principal_for_key
from routing.engine.errors import EncoderMismatch, SnapshotError
from routing.exceptions import APIError, RateLimited, ServiceUnavailable
from routing.gateway.errors import openai_error_fields
from routing.schemas import ErrorOut

logger = logging.getLogger("semroute.api")

api = NinjaAPI(
    title="semroute API",
    version="1",
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
    description=(
        "Route queries to intents and model tiers; manage configuration; read decisions. "
        "Authenticate with `X-API-Key: <key>` or `Authorization: Bearer <key>`."
    ),
)

HTTP_ERROR_CODES = {
    400: "malformed_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    429: "rate_limited",
    503: "unavailable",
}


def error_response(
    request: HttpRequest, *, status: int, code: str, message: str, details: Any = None
) -> HttpResponse:
    error = {"code": code, "message": message, "details": details}
    # The gateway's paths add OpenAI's "type" and "param", so the OpenAI SDK parses its errors.
    error.update(openai_error_fields(request.path, status))
    return api.create_response(request, {"error": error}, status=status)


@api.exception_handler(APIError)
def _api_error(request: HttpRequest, exc: APIError) -> HttpResponse:
    response = error_response(
        request, status=exc.status, code=exc.code, message=exc.message, details=exc.details
    )
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    return response


def _field(loc: tuple | list) -> str:
    # ninja's loc is (source, parameter name, *path); the path is what the caller sent.
    parts = list(loc[2:]) if len(loc) > 2 else list(loc[1:]) or list(loc)
    return ".".join(str(part) for part in parts)


def _subpath(error: dict) -> str:
    # Checks that walk a whole value (metadata) name the nested part they refused in ctx.
    subpath = (error.get("ctx") or {}).get("subpath")
    return f".{subpath}" if subpath else ""


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    problems = [
        {
            "field": _field(error.get("loc", ())) + _subpath(error),
            "location": str(error.get("loc", ("body",))[0]),
            "message": error.get("msg", "invalid"),
            "type": error.get("type", ""),
        }
        for error in exc.errors
    ]
    summary = "; ".join(f"{p['field'] or p['location']}: {p['message']}" for p in problems[:5])
    return error_response(
        request,
        status=422,
        code="validation_error",
        message=f"Invalid request: {summary}",
        details=problems,
    )


@api.exception_handler(AuthenticationError)
def _authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(
        request,
        status=401,
        code="not_authenticated",
        message="Missing, unknown or revoked API key; send it as X-API-Key or Authorization: Bearer.",
    )


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    message = str(exc)
    if exc.status_code == 400:
        message = "The request body is not valid JSON."
    return error_response(
        request,
        status=exc.status_code,
        code=HTTP_ERROR_CODES.get(exc.status_code, "error"),
        message=message,
    )


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, status=404, code="not_found", message="Not found.")


@api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return error_response(
        request,
        status=413,
        code="request_too_large",
        message=f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.",
    )


def _unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.error("A required service is unavailable: %s", exc)
    return error_response(
        request,
        status=503,
        code="unavailable",
        message="A required service (database or cache) is unavailable; retry shortly.",
    )


for _exc in (OperationalError, InterfaceError, RedisConnectionError, RedisTimeoutError):
    api.add_exception_handler(_exc, _unavailable)


@api.exception_handler(EncoderMismatch)
def _encoder_mismatch(request: HttpRequest, exc: EncoderMismatch) -> HttpResponse:
    logger.error("Encoder mismatch in %s: %s", request.path, exc)
    return error_response(
        request,
        status=503,
        code="encoder_mismatch",
        message=(
            f"This router cannot route until its example vectors match the encoder ({exc}). "
            "An operator must run `python manage.py compute_vectors` (or restore the previous "
            "SEMROUTE_ENCODER) and restart the workers."
        ),
    )


@api.exception_handler(SnapshotError)
def _snapshot_error(request: HttpRequest, exc: SnapshotError) -> HttpResponse:
    logger.error("Router configuration cannot be compiled in %s: %s", request.path, exc)
    return error_response(
        request,
        status=409,
        code="router_config_invalid",
        message=(
            f"This router's configuration cannot be compiled: {exc}. An operator must fix it "
            "in the console (or import a corrected configuration); the next version routes again."
        ),
    )


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("Unhandled error in %s %s", request.method, request.path)
    return error_response(
        request, status=500, code="internal_error", message="Internal error; it has been logged."
    )


# Health -----------------------------------------------------------------------------------------


class CheckOut(Schema):
    ok: bool
    required: bool
    latency_ms: float | None = None  # details: for a valid API key or SEMROUTE_HEALTH_DETAILS=1
    detail: str | None = None


class DecisionLogCountsOut(Schema):
    pending: int
    written: int
    dropped: int
    dead_lettered: int


class HealthOut(Schema):
    status: str  # "ok" or "degraded" (a part that is not required is down, or rows were lost)
    checks: dict[str, CheckOut]
    decision_log: DecisionLogCountsOut | None = Field(
        None, description="This worker's decision log counters (with details only)."
    )


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return connection.vendor


def _check_cache() -> str:
    cache.set("semroute:health", "ok", timeout=10)
    if cache.get("semroute:health") != "ok":
        raise RuntimeError("value written was not read back")
    return type(caches["default"]).__name__


def _check_broker() -> str:
    if not settings.CELERY_BROKER_URL:
        return "eager mode (no broker configured)"
    from kombu import Connection

    with Connection(settings.CELERY_BROKER_URL) as broker:
        broker.ensure_connection(max_retries=1, timeout=1)
    return f"connected ({broker.transport_cls})"


def _check_encoder() -> str:
    from routing.vectors import active_encoder

    encoder = active_encoder()
    encoder.encode(["health check"])
    return encoder.name


# (name, check, required): the broker only delays vector computation, so it is not required.
HEALTH_CHECKS = (
    ("database", _check_database, True),
    ("cache", _check_cache, True),
    ("broker", _check_broker, False),
    ("encoder", _check_encoder, True),
)


def health_details_allowed(request: HttpRequest) -> bool:
    """Hosts, ports and driver errors are for operators: a valid API key or the setting."""
    if settings.SEMROUTE_HEALTH_DETAILS:
        return True
    raw_key = APIKeyAuth(None)._get_key(request)
    if not raw_key:
        return False
    try:
        return principal_for_key(raw_key) is not None
    except Exception:  # the database is down: the caller cannot be told apart from anyone
        return False


def health_report(*, details: bool) -> dict[str, Any]:
    checks = {}
    for name, check, required in HEALTH_CHECKS:
        started = time.perf_counter()
        try:
            detail, ok = check(), True
        except Exception as exc:  # a health check reports every failure instead of raising
            detail, ok = f"{type(exc).__name__}: {exc}"[:300], False
            logger.warning("Health check %s failed: %s", name, detail)
        checks[name] = {"ok": ok, "required": required}
        if details:
            checks[name]["detail"] = detail
            checks[name]["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    if not all(check["ok"] for check in checks.values() if check["required"]):
        down = sorted(
            name for name, check in checks.items() if check["required"] and not check["ok"]
        )
        raise ServiceUnavailable(
            f"A required part is down: {', '.join(down)}.", details={"checks": checks}
        )
    counts = decision_log.counts()
    # A dead-lettered or dropped decision is worth an operator's look (the ERROR log has its id).
    healthy = all(check["ok"] for check in checks.values()) and not (
        counts["dead_lettered"] or counts["dropped"]
    )
    report = {"status": "ok" if healthy else "degraded", "checks": checks}
    if details:
        report["decision_log"] = counts
    return report


@api.get(
    "/v1/health",
    response={200: HealthOut, 503: ErrorOut},
    tags=["health"],
    summary="Database, cache, broker, encoder and decision log status",
    description=(
        "Anonymous callers get each part's status; a valid API key (or SEMROUTE_HEALTH_DETAILS=1) "
        "also gets details, timings and the decision log's counters."
    ),
    exclude_none=True,
)
def health(request: HttpRequest):
    return health_report(details=health_details_allowed(request))


def _mount() -> None:
    from analytics.api import router as analytics_router
    from analytics.evaluations.api import router as evaluations_router
    from analytics.experiments.api import router as experiments_router
    from analytics.outcomes.api import router as outcomes_router
    from analytics.review.api import router as review_router
    from routing.api import router as routing_router
    from routing.gateway.api import router as gateway_router

    api.add_router("/v1/", routing_router)
    api.add_router("/v1/", analytics_router)
    api.add_router("/v1/", evaluations_router)
    api.add_router("/v1/", gateway_router)
    api.add_router("/v1/", review_router)
    api.add_router("/v1/", outcomes_router)
    api.add_router("/v1/", experiments_router)


_mount()
