"""Rules (with the "test this pattern" box) and model tiers (with each tier's circuit, today's
calls and spend, and "Test this tier")."""

from __future__ import annotations

import time

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from routing.console import selectors
from routing.console.common import delete_confirmation, form_saved, page_redirect, render_page
from routing.forms import PatternTestForm, RuleForm, TierForm
from routing.models import ModelTier, Router, Rule
from routing.permissions import router_for
from routing.providers import ChatOptions, ProviderError, circuit_states
from routing.providers.calls import CallReport, call_cost_usd, tier_complete, usage_add, usage_today
from routing.services.versioning import config_object_delete
from routing.snapshots import tier_spec


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
    rows = selectors.tier_rows(router)
    circuits = circuit_states(tier_spec(row.tier) for row in rows)
    rows = [
        {
            "tier": row.tier,
            "key_present": row.key_present,
            "circuit": circuits[row.tier.name],
            "today": usage_today(scope=router.slug, tier_name=row.tier.name),
        }
        for row in rows
    ]
    context = {"router": router, "tier_rows": rows, "form": TierForm(router=router)}
    return render_page(request, "console/tiers.html", context, partial="tiers")


TEST_PROMPT = [{"role": "user", "content": "Reply with the single word OK."}]


@login_required
@require_POST
def tier_test(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """ "Test this tier": one short prompt through the tier's client, timeouts and circuit."""
    router = router_for(request.user, slug, edit=True)  # a call to a model costs money
    tier = get_object_or_404(ModelTier, pk=pk, router=router)
    spec = tier_spec(tier)
    report = CallReport()
    try:
        answer = tier_complete(
            spec,
            TEST_PROMPT,
            ChatOptions(max_tokens=16),
            deadline=time.monotonic() + spec.timeout_seconds,
            report=report,
        )
    except ProviderError as exc:
        messages.error(request, f"Tier {tier.name} failed ({exc.outcome}): {exc}")
    else:
        cost = call_cost_usd(spec, answer.input_tokens, answer.output_tokens)
        usage_add(scope=router.slug, tier_name=tier.name, cost_usd=cost)
        messages.success(
            request,
            f"Tier {tier.name} answered {(answer.content or '')[:80]!r} in "
            f"{report.ttft_ms:.0f} ms ({answer.input_tokens} + {answer.output_tokens} tokens, "
            f"${cost:.6f}).",
        )
    return page_redirect(request, reverse("console:tiers", kwargs={"slug": router.slug}))


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
