"""API fixtures: an API key factory and a JSON client that sends the key."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from analytics.decision_log import decision_log
from routing.auth import principals_forget, routers_forget
from routing.models import API_KEY_SCOPES, Router
from routing.services.api_keys import api_key_create


@pytest.fixture(autouse=True)
def _api_state():
    """Each test starts with no remembered keys, no rate-limit counters and an empty decision buffer.

    The background flusher stays off: it would write on its own connection, outside the test's
    transaction; tests call decision_log.flush() when they need the rows.
    """
    autostart = decision_log.autostart
    decision_log.autostart = False
    principals_forget()
    routers_forget()
    cache.clear()
    yield
    decision_log.discard()
    decision_log.autostart = autostart
    principals_forget()
    routers_forget()


class APIClient:
    """Sends JSON to /api/v1/ with an API key; returns Django test responses."""

    def __init__(self, key: str | None = None, *, bearer: bool = False):
        self.client = Client()
        self.key = key
        self.bearer = bearer

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = dict(extra or {})
        if self.key is not None:
            if self.bearer:
                headers["Authorization"] = f"Bearer {self.key}"
            else:
                headers["X-API-Key"] = self.key
        return headers

    def get(
        self, path: str, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ):
        return self.client.get(f"/api/v1/{path}", params or {}, headers=self._headers(headers))

    def post(
        self,
        path: str,
        body: Any = None,
        *,
        raw: str | bytes | None = None,
        headers: dict[str, str] | None = None,
    ):
        content = raw if raw is not None else json.dumps(body)
        return self.client.post(
            f"/api/v1/{path}",
            content,
            content_type="application/json",
            headers=self._headers(headers),
        )

    def put(
        self,
        path: str,
        body: Any = None,
        *,
        raw: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        content = raw if raw is not None else json.dumps(body)
        return self.client.put(
            f"/api/v1/{path}",
            content,
            content_type="application/json",
            headers=self._headers(headers),
        )


@pytest.fixture
def make_key(db) -> Callable[..., str]:
    def make(
        scopes: Sequence[str] = API_KEY_SCOPES,
        routers: Sequence[Router] = (),
        rate_limit_per_minute: int | None = None,
        name: str = "test key",
    ) -> str:
        key, raw_key = api_key_create(name=name, scopes=scopes, routers=routers)
        if rate_limit_per_minute is not None:
            key.rate_limit_per_minute = rate_limit_per_minute
            key.save(update_fields=["rate_limit_per_minute"])
        return raw_key

    return make


@pytest.fixture
def client_for(make_key) -> Callable[..., APIClient]:
    """client_for(scopes=..., routers=...) -> an APIClient holding a new key."""

    def make(**key_options) -> APIClient:
        return APIClient(make_key(**key_options))

    return make


@pytest.fixture
def api(client_for) -> APIClient:
    """A client whose key has every scope and no router restriction."""
    return client_for()


def error_of(response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    return body["error"]
