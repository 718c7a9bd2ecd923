"""The routers list and a router's page: its intents table, inline intent editing, adding and deleting intents."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from routing.conflicts import router_conflicts
from routing.console import selectors
from routing.console.common import (
    delete_confirmation,
    form_saved,
    page_redirect,
    render_page,
    router_intent,
)
from routing.forms import IntentForm, IntentInlineForm
from routing.models import Router
from routing.permissions import require_view, router_for
from routing.services.versioning import config_object_delete


def _intent_row(request: HttpRequest, router: Router, name: str, **context) -> HttpResponse:
    """One row of the intents table, with its example and conflict counts."""
    (intent,) = selectors.intent_rows(router, router_conflicts(router), name=name)
    return render_page(
        request, "console/router.html#intent_row", {"router": router, "intent": intent, **context}
    )


@login_required
@require_GET
def routers_list(request: HttpRequest) -> HttpResponse:
    require_view(request.user)
    return render_page(
        request,
        "console/routers.html",
        {"routers": selectors.routers_overview()},
        partial="routers",
    )


@login_required
@require_GET
def router_detail(request: HttpRequest, slug: str) -> HttpResponse:
    router = router_for(request.user, slug)
    context = {
        "router": router,
        "intents": selectors.intent_rows(router, router_conflicts(router)),
        "form": IntentForm(router=router),
    }
    return render_page(request, "console/router.html", context, partial="intents")


@login_required
@require_http_methods(["GET", "POST"])
def intent_create(request: HttpRequest, slug: str) -> HttpResponse:
    """POST adds an intent; GET (this address after a failed plain POST) shows the page with the form."""
    router = router_for(request.user, slug, edit=True)
    form = IntentForm(request.POST or None, router=router)
    if request.method == "POST" and form_saved(form, request.user):
        messages.success(request, f"Added intent {form.instance.name} (v{router.version}).")
        return page_redirect(
            request,
            reverse("console:intent", kwargs={"slug": router.slug, "name": form.instance.name}),
        )
    context = {
        "router": router,
        "intents": selectors.intent_rows(router, router_conflicts(router)),
        "form": form,
    }
    return render_page(request, "console/router.html", context, partial="new_intent")


@login_required
@require_GET
def intent_row(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    router = router_for(request.user, slug)
    if not request.htmx:
        return redirect("console:router", slug=router.slug)
    return _intent_row(request, router, router_intent(router, name).name)


@login_required
@require_http_methods(["GET", "POST"])
def intent_edit(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    """Inline (htmx: handler, threshold, minimum tier, enabled) or full-page (all fields) intent editing."""
    router = router_for(request.user, slug, edit=request.method == "POST")
    intent = router_intent(router, name)
    form_class = IntentInlineForm if request.htmx else IntentForm
    form = form_class(request.POST or None, instance=intent, router=router)
    if request.method == "POST" and form_saved(form, request.user):
        if request.htmx:
            return _intent_row(request, router, form.instance.name, saved=True)
        messages.success(request, f"Saved intent {form.instance.name}.")
        return redirect("console:router", slug=router.slug)
    return render_page(
        request,
        "console/intent_edit.html",
        {"router": router, "intent": intent, "form": form},
        partial="edit_row",
    )


@login_required
@require_http_methods(["GET", "POST"])
def intent_delete(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    """GET asks "Delete intent X?" (without JavaScript); POST deletes it with its examples and rules."""
    router = router_for(request.user, slug, edit=True)
    intent = router_intent(router, name)
    if request.method == "GET":
        examples, rules = intent.examples.count(), intent.rules.count()
        return delete_confirmation(
            request,
            router,
            what=f"intent {intent.name}",
            consequences=[
                f"Its {examples} example{pluralize(examples)} go with it.",
                f"Its {rules} rule{pluralize(rules)} go with it.",
            ],
            cancel_url=reverse("console:intent", kwargs={"slug": router.slug, "name": name}),
            active="intents",
        )
    config_object_delete(obj=intent, user=request.user)
    messages.success(request, f"Deleted intent {name}.")
    return page_redirect(request, reverse("console:router", kwargs={"slug": router.slug}))
