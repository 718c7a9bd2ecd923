"""Rules (with the "test this pattern" box) and model tiers."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from routing.console import selectors
from routing.console.common import delete_confirmation, form_saved, page_redirect, render_page
from routing.forms import PatternTestForm, RuleForm, TierForm
from routing.models import ModelTier, Router, Rule
from routing.permissions import router_for
from routing.services.versioning import config_object_delete


@login_required
@require_GET
def rules(request: HttpRequest, slug: str) -> HttpResponse:
    """The rules table and the "test this pattern" box (?kind=&pattern=, a fragment for htmx)."""
    router = router_for(request.user, slug)
    test_form = PatternTestForm(request.GET if "pattern" in request.GET else None)
    pattern_test = None
    if test_form.is_bound and test_form.is_valid():
        pattern_test = selectors.rule_pattern_test(router, **test_form.cleaned_data)
    context = _rules_context(router, RuleForm(router=router), test_form, pattern_test)
    return render_page(request, "console/rules.html", context, partial="pattern_results")


def _rules_context(router: Router, form, test_form, pattern_test) -> dict:
    return {
        "router": router,
        "rules": router.rules.select_related("intent", "tier"),
        "form": form,
        "test_form": test_form,
        "pattern_test": pattern_test,
    }


@login_required
@require_http_methods(["GET", "POST"])
def rule_create(request: HttpRequest, slug: str) -> HttpResponse:
    """POST adds a rule; GET (this address after a failed plain POST) shows the page with the form."""
    router = router_for(request.user, slug, edit=True)
    form = RuleForm(request.POST or None, router=router)
    if request.method == "POST" and form_saved(form, request.user):
        messages.success(request, f"Added rule {form.instance}.")
        return page_redirect(request, reverse("console:rules", kwargs={"slug": router.slug}))
    context = _rules_context(router, form, PatternTestForm(), None)
    return render_page(request, "console/rules.html", context, partial="rule_form")


@login_required
@require_http_methods(["GET", "POST"])
def rule_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """GET asks "Delete rule …?" (without JavaScript); POST deletes it."""
    router = router_for(request.user, slug, edit=True)
    rule = get_object_or_404(Rule, pk=pk, router=router)
    rules_url = reverse("console:rules", kwargs={"slug": router.slug})
    if request.method == "GET":
        return delete_confirmation(
            request,
            router,
            what=f"rule {rule}",
            consequences=[],
            cancel_url=rules_url,
            active="rules",
        )
    config_object_delete(obj=rule, user=request.user)
    messages.success(request, f"Deleted rule {rule}.")
    return page_redirect(request, rules_url)


@login_required
@require_GET
def tiers(request: HttpRequest, slug: str) -> HttpResponse:
    router = router_for(request.user, slug)
    context = {
        "router": router,
        "tier_rows": selectors.tier_rows(router),
        "form": TierForm(router=router),
    }
    return render_page(request, "console/tiers.html", context, partial="tiers")


@login_required
@require_http_methods(["GET", "POST"])
def tier_edit(request: HttpRequest, slug: str, pk: int | None = None) -> HttpResponse:
    router = router_for(request.user, slug, edit=request.method == "POST")
    tier = get_object_or_404(ModelTier, pk=pk, router=router) if pk else None
    form = TierForm(request.POST or None, instance=tier, router=router)
    if request.method == "POST" and form_saved(form, request.user):
        messages.success(request, f"Saved tier {form.instance.name}.")
        return redirect("console:tiers", slug=router.slug)
    return render_page(
        request,
        "console/tier_edit.html",
        {"router": router, "tier": tier, "form": form},
        partial="tier_form",
    )


@login_required
@require_http_methods(["GET", "POST"])
def tier_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """GET asks "Delete tier …?" with what depends on it (without JavaScript); POST deletes it."""
    router = router_for(request.user, slug, edit=True)
    tier = get_object_or_404(ModelTier, pk=pk, router=router)
    tiers_url = reverse("console:tiers", kwargs={"slug": router.slug})
    if request.method == "GET":
        return delete_confirmation(
            request,
            router,
            what=f"tier {tier.name}",
            consequences=selectors.tier_dependants(router, tier),
            cancel_url=tiers_url,
            active="tiers",
        )
    config_object_delete(obj=tier, user=request.user)
    messages.success(request, f"Deleted tier {tier.name}.")
    return page_redirect(request, tiers_url)
