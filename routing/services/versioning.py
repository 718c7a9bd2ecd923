"""Versioning: every configuration change runs in one transaction, under the router's lock, and
records one new RouterVersion. Object saves, deletes and policy edits go through here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import models, transaction

from routing.config_io import router_config_export
from routing.models import (
    ComplexityExample,
    Example,
    Intent,
    ModelTier,
    Router,
    RouterVersion,
    Rule,
)
from routing.tasks import example_vectors_enqueue


def router_bump_version(
    *, router: Router, user=None, summary: str, author_label: str = ""
) -> RouterVersion:
    """Record a new version of `router` holding its current configuration. Call inside the change's transaction.

    `author_label` names an author that is not a user (e.g. "key uxapp" for an API key).
    """
    number = router.bump_version()
    version = RouterVersion.objects.create(
        router=router,
        number=number,
        summary=summary[:500],
        config=router_config_export(router),
        created_by=user_or_none(user),
        author_label=author_label[:200],
    )
    return version


def router_lock(router: Router) -> None:
    """Serialise concurrent edits of `router` until the current transaction ends."""
    Router.objects.select_for_update().filter(pk=router.pk).exists()


@contextmanager
def config_change(
    *, router: Router, user=None, summary: str, examples_changed: bool = False
) -> Iterator[None]:
    """One configuration change: atomic, one new version, vectors computed after commit when needed."""
    with transaction.atomic():
        router_lock(router)
        yield
        router_bump_version(router=router, user=user, summary=summary)
        if examples_changed:
            example_vectors_enqueue(router.pk)


def _describe(obj: models.Model) -> str:
    return f"{obj._meta.verbose_name} {obj}"


def _router_of(obj: models.Model) -> Router:
    return obj.router if hasattr(obj, "router_id") else obj.intent.router


def config_object_save(*, obj: Intent | Rule | ModelTier, user=None, summary: str = "") -> None:
    """Validate and save one configuration object, bumping its router's version.

    Examples go through example_add / examples_add_bulk, the policy through router_policy_update.
    """
    obj.full_clean()
    if not summary:
        summary = f"{'Added' if obj._state.adding else 'Changed'} {_describe(obj)}"
    with config_change(router=obj.router, user=user, summary=summary):
        obj.save()


def config_object_delete(
    *, obj: Intent | Rule | ModelTier | Example | ComplexityExample, user=None
) -> None:
    """Delete one configuration object, bumping its router's version (nothing to encode)."""
    with config_change(router=_router_of(obj), user=user, summary=f"Deleted {_describe(obj)}"):
        obj.delete()


def router_create(*, slug: str, name: str, description: str = "", user=None) -> Router:
    router = Router(slug=slug, name=name, description=description, version=0)
    router.full_clean()
    with transaction.atomic():
        router.save()
        router_bump_version(router=router, user=user, summary="Created router")
    return router


def router_policy_update(*, router: Router, user=None, changes: dict[str, Any]) -> Router:
    """Change policy fields (method, thresholds, band, fallbacks, ...) as one new version."""
    before = {name: getattr(router, name) for name in changes}
    for name, value in changes.items():
        setattr(router, name, value)
    router.full_clean()
    changed = [
        f"{name}: {before[name]!r} -> {value!r}"
        for name, value in changes.items()
        if before[name] != value
    ]
    if not changed:
        return router
    with config_change(router=router, user=user, summary="Policy " + "; ".join(changed)):
        router.save(update_fields=Router.EDITABLE_FIELDS)
    return router


def user_or_none(user):
    """The user to record as an author: None for anonymous callers and API keys."""
    return user if getattr(user, "is_authenticated", False) else None
