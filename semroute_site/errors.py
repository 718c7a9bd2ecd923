"""Errors outside the NinjaAPI's own handlers, still in the product's shapes.

- An unknown `/api/...` path (Django's URL resolver answers it) and a wrong method (ninja answers
  it in plain text) become the API's one JSON error shape.
- A console page whose database is down becomes the friendly 503 page (templates/503.html), both
  when the view raises (middleware) and when a middleware does (handler500).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.views import defaults

logger = logging.getLogger("semroute.errors")

DATABASE_DOWN = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 30


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def service_unavailable_page(request: HttpRequest, exc: BaseException) -> HttpResponse:
    logger.error("Database unavailable for %s %s: %s", request.method, request.path, exc)
    # render_to_string without the request: context processors would touch the session again.
    page = render_to_string("503.html", {"path": request.path})
    response = HttpResponse(page, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _api_shape(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    from semroute_site.api import error_response

    if response.status_code == 405:
        allowed = response.get("Allow", "")
        shaped = error_response(
            request,
            status=405,
            code="method_not_allowed",
            message=f"{request.method} is not allowed on {request.path}; use {allowed}.",
            details={"allowed": sorted(filter(None, (m.strip() for m in allowed.split(","))))},
        )
        shaped["Allow"] = allowed
        return shaped
    return error_response(
        request,
        status=404,
        code="not_found",
        message=f"No API endpoint at {request.path}; see /api/docs for the operations.",
    )


class ErrorShapeMiddleware:
    """Outermost middleware: reshapes the API's 404/405 responses; 503 page for console pages."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code in (404, 405)
            and _is_api(request)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            return _api_shape(request, response)
        return response

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if isinstance(exc, DATABASE_DOWN) and not _is_api(request):
            return service_unavailable_page(request, exc)
        return None


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a database outage raised outside a view is still the 503 page, not a 500."""
    exc = sys.exc_info()[1]
    if isinstance(exc, DATABASE_DOWN):
        return service_unavailable_page(request, exc)
    return defaults.server_error(request)
