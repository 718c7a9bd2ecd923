"""The routing policy with its preview on sample and recent queries, and the version history with rollback."""

from __future__ import annotations

import dataclasses

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from routing.console import selectors
from routing.console.common import render_page, saved_policy
from routing.decide import decide_batch
from routing.engine.errors import EngineError
from routing.forms import PolicyForm
from routing.models import Router
from routing.permissions import router_for
from routing.services.config_apply import router_rollback
from routing.services.versioning import router_policy_update
from routing.snapshots import policy_with_changes

# The preview's probes drawn from the router's own examples would each be their own near-duplicate
# and keep their intent whatever the policy says: route them as new queries (the rule off).
NO_NEAR_DUPLICATES = 1.01


@login_required
@require_http_methods(["GET", "POST"])
def policy(request: HttpRequest, slug: str) -> HttpResponse:
    """GET the form; POST action=preview shows the effect on sample queries; POST action=save saves."""
    saving = request.POST.get("action") == "save"
    router = router_for(request.user, slug, edit=saving)
    form = PolicyForm(request.POST or None, router=router)
    preview = preview_error = None
    if request.method == "POST" and form.is_valid():
        if saving:
            try:
                router_policy_update(router=router, user=request.user, changes=form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, f"Policy saved as version {router.version}.")
                return redirect("console:policy", slug=router.slug)
        else:
            try:
                preview = _policy_preview(router, form.cleaned_data)
            except EngineError as exc:
                preview_error = str(exc)
    context = {"router": router, "form": form, "preview": preview, "preview_error": preview_error}
    return render_page(request, "console/policy.html", context, partial="preview")


def _policy_preview(router: Router, cleaned: dict) -> selectors.PolicyPreview:
    """Route recent and sample queries with the saved policy and with the unsaved one.

    Recent traffic is routed as it would be; samples taken from the examples as new queries.
    """
    saved = saved_policy(router)
    unsaved = policy_with_changes(saved, cleaned)
    samples = selectors.sample_queries(router)
    recent = [sample for sample in samples if sample.source == "recent"]
    probes = [sample for sample in samples if sample.source != "recent"]
    before, after = [], []
    for group, as_new in ((recent, False), (probes, True)):
        queries = [sample.text for sample in group]
        for policy, decisions in ((saved, before), (unsaved, after)):
            if as_new:
                policy = dataclasses.replace(policy, near_duplicate_similarity=NO_NEAR_DUPLICATES)
            decisions.extend(decide_batch(router=router, queries=queries, policy=policy))
    return selectors.policy_preview(recent + probes, before, after)


@login_required
@require_GET
def versions(request: HttpRequest, slug: str) -> HttpResponse:
    router = router_for(request.user, slug)
    return render_page(
        request,
        "console/versions.html",
        {"router": router, "history": selectors.version_history(router)},
        partial="history",
    )


@login_required
@require_POST
def version_rollback(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    router = router_for(request.user, slug, edit=True)
    get_object_or_404(router.versions, number=number)
    result = router_rollback(router=router, number=number, user=request.user)
    if result.applied:
        messages.success(
            request,
            f"Rolled back to the contents of version {number}: now version {router.version}.",
        )
    else:
        messages.info(
            request, f"Version {number} has the same contents as the current one; nothing changed."
        )
    if request.htmx:
        return render_page(
            request,
            "console/versions.html#history",
            {"router": router, "history": selectors.version_history(router), "show_messages": True},
        )
    return redirect("console:versions", slug=router.slug)
