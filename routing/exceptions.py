"""Domain errors of the routing API. semroute_site/api.py maps each to one status and error code."""

from __future__ import annotations

from typing import Any


class APIError(Exception):
    """Base class: a client-facing error with a stable code and optional structured details."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class PermissionDenied(APIError):
    status = 403
    code = "permission_denied"


class NotFound(APIError):
    status = 404
    code = "not_found"


class QueryTooLong(APIError):
    status = 413
    code = "query_too_long"


class ContextTooLarge(APIError):
    """A retrieved context over routing.retrieved_context's limits."""

    status = 413
    code = "context_too_large"


class ConfigTooLarge(APIError):
    """A config document over SEMROUTE_MAX_CONFIG_BYTES (also after gzip)."""

    status = 413
    code = "request_too_large"


class UnsupportedEncoding(APIError):
    status = 415
    code = "unsupported_encoding"


class MalformedBody(APIError):
    status = 400
    code = "malformed_request"


class InvalidInput(APIError):
    """Input that parsed but cannot be used (e.g. a config document with problems)."""

    status = 422
    code = "invalid"


class RateLimited(APIError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, details: Any = None) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after


class ServiceUnavailable(APIError):
    status = 503
    code = "unavailable"
