"""What every console page shares: rendering a page or its fragment, saving a form, fetching an intent."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django_htmx.http import HttpResponseClientRedirect

from routing.engine.snapshot import Policy
from routing.models import Intent, Router
from routing.permissions import can_edit
from routing.services.versioning import config_object_save
from routing.snapshots import compiled_router


def render_page(
    request: HttpRequest,
    template: str,
    context: dict,
    *,
    partial: str | None = None,
    status: int = 200,
) -> HttpResponse:
    """The whole page, or only `partial` of it for htmx requests."""
    context = {"can_edit": can_edit(request.user), **context}
    if partial and request.htmx:
        template = f"{template}#{partial}"
    return render(request, template, context, status=status)


def form_saved(form, user) -> bool:
    """Save a valid configuration form through the versioning service; errors land on the form."""
    if not form.is_valid():
        return False
    try:
        config_object_save(obj=form.instance, user=user)
    except ValidationError as exc:
        form.add_error(None, exc)
        return False
    return True


def router_intent(router: Router, name: str) -> Intent:
    # Through the router's own manager, so intent.router *is* `router`: a change to the intent bumps
    # the version on this very object, and the view renders (and compiles) the current version.
    return get_object_or_404(router.intents.select_related("min_tier"), name=name)


def saved_policy(router: Router) -> Policy:
    """The saved policy, as the compiled snapshot (which routing compiles anyway) holds it."""
    return compiled_router(router).snapshot.policy


def delete_confirmation(
    request: HttpRequest,
    router: Router,
    *,
    what: str,
    consequences: list[str],
    cancel_url: str,
    active: str,
) -> HttpResponse:
    """The "Delete X?" page a delete link opens without JavaScript (htmx asks with hx-confirm)."""
    context = {
        "router": router,
        "what": what,
        "consequences": consequences,
        "action": request.path,
        "cancel_url": cancel_url,
        "active": active,
    }
    return render_page(request, "console/confirm_delete.html", context)


def page_redirect(request: HttpRequest, url: str) -> HttpResponse:
    """After a change made from a whole page: a redirect, or for htmx a full client-side redirect."""
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
