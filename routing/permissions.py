"""Console roles: superusers and group "operators" edit, group "viewers" read, anyone else sees nothing."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from routing.models import Router

OPERATORS = "operators"
VIEWERS = "viewers"


def _groups(user: AbstractBaseUser | AnonymousUser) -> frozenset[str]:
    # One query per request: the names are cached on the user object.
    cached = getattr(user, "_semroute_groups", None)
    if cached is None:
        names = user.groups.values_list("name", flat=True) if user.is_authenticated else []
        cached = frozenset(names)
        user._semroute_groups = cached
    return cached


def can_edit(user) -> bool:
    return user.is_authenticated and (user.is_superuser or OPERATORS in _groups(user))


def can_view(user) -> bool:
    return can_edit(user) or (user.is_authenticated and VIEWERS in _groups(user))


def require_view(user) -> None:
    if not can_view(user):
        raise PermissionDenied(
            "You have no access to the console; ask an administrator for the viewer or operator role."
        )


def require_edit(user) -> None:
    require_view(user)
    if not can_edit(user):
        raise PermissionDenied("Viewers can read the configuration; only operators can change it.")


def router_for(user, slug: str, *, edit: bool = False) -> Router:
    """The router `slug` if `user` may see it (or edit it, with edit=True): 403 for no role, 404 for no router."""
    require_edit(user) if edit else require_view(user)
    return get_object_or_404(
        Router.objects.select_related("fallback_intent", "fallback_tier"), slug=slug
    )
