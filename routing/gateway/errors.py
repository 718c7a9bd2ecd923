"""OpenAI-shaped errors: the project's one error shape plus the `type` and `param` the OpenAI
SDK reads, so `openai.BadRequestError` and friends carry `.code`, `.type` and our `details`."""

from __future__ import annotations

from routing.exceptions import APIError

GATEWAY_PATHS = ("/api/v1/chat/", "/api/v1/models")
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    503: "service_unavailable_error",
}


def openai_error_fields(path: str, status: int) -> dict:
    """{"type", "param"} added to the error body on the gateway's paths; {} elsewhere."""
    if not path.startswith(GATEWAY_PATHS):
        return {}
    return {"type": ERROR_TYPES.get(status, "api_error"), "param": None}


class UnsupportedParameter(APIError):
    status = 400
    code = "unsupported_parameter"


class NoUserTurn(APIError):
    status = 400
    code = "no_user_turn"


class NoTierAnswered(APIError):
    """Every tier that could take the request failed, was skipped or has no key."""

    status = 503
    code = "no_tier_available"
