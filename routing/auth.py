"""API-key authentication for the routing API: `X-API-Key: <key>` or `Authorization: Bearer <key>`.

Keys are looked up by their sha256 hash. A worker remembers a looked-up key for a couple of
seconds, so a revoked key stops working in every worker within KEY_CACHE_SECONDS; `last_used_at`
is written at most once a minute per key, never on every request.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import APIKeyHeader

from routing.exceptions import InvalidInput, NotFound, PermissionDenied
from routing.models import APIKey, Router
from routing.ratelimit import rate_limit_hit
from routing.services.api_keys import api_key_hash

KEY_CACHE_SECONDS = 2.0
# A worker re-reads a router's row (and so its version) at most this long after its last read:
# configuration changes reach every worker within this time, without a query per request.
ROUTER_CACHE_SECONDS = 0.5
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(slots=True)
class KeyPrincipal:
    """What a request is allowed to do: the key, its scopes and the routers it is limited to."""

    key_id: int
    name: str
    scopes: frozenset[str]
    router_ids: frozenset[int] | None  # None: every router
    rate_limit_per_minute: int
    last_used_at: datetime | None
    loaded_at: float = field(default_factory=time.monotonic)

    def can_use_router(self, router: Router) -> bool:
        return self.router_ids is None or router.pk in self.router_ids

    def check_router(self, router: Router) -> None:
        if not self.can_use_router(router):
            raise PermissionDenied(
                f"This API key may not use router {router.slug!r}.", details={"router": router.slug}
            )


_principals: dict[str, KeyPrincipal] = {}
_principals_lock = threading.Lock()


def _principal_load(key_hash: str) -> KeyPrincipal | None:
    key = APIKey.objects.active().filter(key_hash=key_hash).prefetch_related("routers").first()
    if key is None:
        return None
    router_ids = frozenset(router.pk for router in key.routers.all())
    return KeyPrincipal(
        key_id=key.pk,
        name=key.name,
        scopes=frozenset(key.scopes or ()),
        router_ids=router_ids or None,
        rate_limit_per_minute=key.rate_limit_per_minute,
        last_used_at=key.last_used_at,
    )


def principal_for_key(raw_key: str) -> KeyPrincipal | None:
    """The active key's principal, from this worker's short-lived memory or one lookup."""
    key_hash = api_key_hash(raw_key)
    principal = _principals.get(key_hash)
    if principal is None or time.monotonic() - principal.loaded_at > KEY_CACHE_SECONDS:
        principal = _principal_load(key_hash)
        with _principals_lock:
            if principal is None:
                _principals.pop(key_hash, None)
            else:
                _principals[key_hash] = principal
    return principal


def principals_forget() -> None:
    """Drop every remembered key (tests, and after revoking a key in this process)."""
    with _principals_lock:
        _principals.clear()


def _last_used_touch(principal: KeyPrincipal) -> None:
    now = timezone.now()
    if principal.last_used_at is not None and now - principal.last_used_at < LAST_USED_RESOLUTION:
        return
    principal.last_used_at = now
    stale = now - LAST_USED_RESOLUTION
    # Conditional: several workers racing write once, not once each.
    APIKey.objects.filter(pk=principal.key_id).exclude(last_used_at__gte=stale).update(
        last_used_at=now
    )


class APIKeyAuth(APIKeyHeader):
    """Authenticates an API key holding `scope` (None: any scope); rate-limits it; 401 without a valid key."""

    param_name = "X-API-Key"

    def __init__(self, scope: str | None) -> None:
        self.scope = scope
        super().__init__()

    def _get_key(self, request: HttpRequest) -> str | None:
        key = request.headers.get(self.param_name)
        if key:
            return key.strip()
        authorization = request.headers.get("Authorization", "")
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return credentials.strip()
        return None

    def authenticate(self, request: HttpRequest, key: str | None) -> KeyPrincipal | None:
        if not key:
            return None
        principal = principal_for_key(key)
        if principal is None:
            return None
        if self.scope is not None and self.scope not in principal.scopes:
            raise PermissionDenied(
                f"This API key lacks the {self.scope!r} scope.",
                details={"required_scope": self.scope, "scopes": sorted(principal.scopes)},
            )
        rate_limit_hit(key_id=principal.key_id, limit_per_minute=principal.rate_limit_per_minute)
        _last_used_touch(principal)
        return principal


_routers: dict[str, tuple[float, Router | None]] = {}
# Router.slug is a SlugField(max_length=64): anything else names no router, without a query
# (and a NUL in a URL would make PostgreSQL refuse the lookup).
_SLUG = re.compile(r"[-a-zA-Z0-9_]{1,64}")


def router_by_slug(slug: str, *, fresh: bool = False) -> Router | None:
    """The router row, re-read from the database at most every ROUTER_CACHE_SECONDS per worker."""
    if _SLUG.fullmatch(slug) is None:
        return None
    now = time.monotonic()
    cached = _routers.get(slug)
    if fresh or cached is None or now - cached[0] > ROUTER_CACHE_SECONDS:
        router = Router.objects.filter(slug=slug).first()
        if (
            router is None
        ):  # unknown slugs are not remembered: the dict stays as small as the router list
            _routers.pop(slug, None)
        else:
            _routers[slug] = (now, router)
        return router
    return cached[1]


def routers_forget() -> None:
    _routers.clear()


def router_for_key(*, slug: str, principal: KeyPrincipal, fresh: bool = False) -> Router:
    """The router named `slug` if this key may use it: 404 when unknown, 403 when not allowed.

    `fresh` reads the row now (configuration endpoints); routing accepts ROUTER_CACHE_SECONDS of lag.
    """
    router = router_by_slug(slug, fresh=fresh)
    if router is None:
        raise NotFound(f"No router {slug[:64]!r}.", details={"router": slug[:64]})
    principal.check_router(router)
    return router


def router_for_import(*, slug: str, document: dict, principal: KeyPrincipal) -> Router | None:
    """The router a config document is imported into; None means it will be created.

    Only a key without a router restriction may create a router, and only under the slug it names.
    """
    if _SLUG.fullmatch(slug) is None:
        raise InvalidInput(
            f"{slug[:64]!r} cannot be a router slug.",
            details={
                "problems": [{"field": "slug", "message": "use 1-64 letters, digits, '-' or '_'."}]
            },
        )
    router = router_by_slug(slug, fresh=True)
    if router is not None:
        principal.check_router(router)
        return router
    if principal.router_ids is not None:
        raise PermissionDenied("This API key may not create routers.", details={"router": slug})
    if document.get("slug") != slug:
        raise InvalidInput(
            f"The document is for router {document.get('slug')!r}, not {slug!r}.",
            details={
                "problems": [
                    {"field": "slug", "message": f"must be {slug!r} to create that router."}
                ]
            },
        )
    return None
