"""API keys: created with a random secret shown once, stored as a hash, revoked in place."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from routing.models import APIKey, Router
from routing.services.versioning import user_or_none


def api_key_create(
    *,
    name: str,
    scopes: Sequence[str],
    routers: Sequence[Router] = (),
    rate_limit_per_minute: int | None = None,
    user=None,
) -> tuple[APIKey, str]:
    """Create an API key; the raw key is returned once and only its hash is stored."""
    prefix, raw_key = api_key_new_secret()
    key = APIKey(
        name=name,
        prefix=prefix,
        key_hash=api_key_hash(raw_key),
        scopes=list(scopes),
        created_by=user_or_none(user),
    )
    if rate_limit_per_minute is not None:
        key.rate_limit_per_minute = rate_limit_per_minute
    key.full_clean()
    with transaction.atomic():
        key.save()
        key.routers.set(routers)
    return key, raw_key


def api_key_new_secret() -> tuple[str, str]:
    """A new key's visible prefix and the whole raw key (which starts with the prefix)."""
    prefix = "sr_" + secrets.token_hex(4)
    return prefix, f"{prefix}_{secrets.token_urlsafe(32)}"


def api_key_hash(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def api_key_revoke(*, key: APIKey) -> None:
    APIKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    key.refresh_from_db(fields=["revoked_at"])
