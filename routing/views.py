"""Operator console and playground: short views over routing.services, analytics.reports and routing.decide.

Every page renders in full for a plain request and as a named partial ("page.html#name") for htmx;
every change is a POST that redirects (plain) or re-renders the changed fragment (htmx).
"""

from __future__ import annotations

import dataclasses
import functools
import time
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import push_url

from analytics import charts, reports
from routing.conflicts import router_conflicts
from routing.decide import decide, decide_batch
from routing.engine.errors import EngineError
from routing.engine.snapshot import Policy
from routing.forms import (
    BatchForm,
    BulkExamplesForm,
    CompareForm,
    CorrectionForm,
    ExampleForm,
    ExampleSearchForm,
    IntentForm,
    IntentInlineForm,
    PatternTestForm,
    PolicyForm,
    QueryForm,
    RuleForm,
    TierForm,
)
from routing.models import ExampleSource, Intent, ModelTier, Router, Rule
from routing.permissions import can_edit, require_view, router_for
from routing.services.config_apply import router_rollback
from routing.services.examples import example_add, examples_add_bulk
from routing.services.versioning import (
    config_object_delete,
    config_object_save,
    router_policy_update,
)
from routing.snapshots import compiled_router, policy_with_changes

MAX_LISTED_EXAMPLES = 500


def _render(
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


def _saved(form, user) -> bool:
    """Save a valid configuration form through the versioning service; errors land on the form."""
    if not form.is_valid():
        return False
    try:
        config_object_save(obj=form.instance, user=user)
    except ValidationError as exc:
        form.add_error(None, exc)
        return False
    return True


def _intent(router: Router, name: str) -> Intent:
    # Through the router's own manager, so intent.router *is* `router`: a change to the intent bumps
    # the version on this very object, and the view renders (and compiles) the current version.
    return get_object_or_404(router.intents.select_related("min_tier"), name=name)


def _intent_row(request: HttpRequest, router: Router, name: str, **context) -> HttpResponse:
    """One row of the intents table, with its example and conflict counts."""
    (intent,) = reports.intent_rows(router, router_conflicts(router), name=name)
    return _render(
        request, "console/router.html#intent_row", {"router": router, "intent": intent, **context}
    )


def _saved_policy(router: Router) -> Policy:
    """The saved policy, as the compiled snapshot (which routing compiles anyway) holds it."""
    return compiled_router(router).snapshot.policy


def _decide(router: Router, query: str, policy: Policy | None = None) -> dict:
    """One decision plus what the decision card shows with it (or the engine's error)."""
    started = time.perf_counter()
    try:
        decision = decide(router=router, query=query, policy=policy)
    except EngineError as exc:
        return {"query": query, "decision": None, "engine_error": str(exc)}
    return {
        "query": query,
        "decision": decision,
        "savings_pct": reports.savings_pct(decision),
        "chart": charts.figure_html(
            charts.intent_scores_figure(decision.trace.top_intents, chosen=decision.intent)
        ),
        "server_ms": (time.perf_counter() - started) * 1000,
    }


# Routers -------------------------------------------------------------------------------------------


@login_required
@require_GET
def routers_list(request: HttpRequest) -> HttpResponse:
    require_view(request.user)
    return _render(
        request, "console/routers.html", {"routers": reports.routers_overview()}, partial="routers"
    )


@login_required
@require_GET
def router_detail(request: HttpRequest, slug: str) -> HttpResponse:
    router = router_for(request.user, slug)
    context = {
        "router": router,
        "intents": reports.intent_rows(router, router_conflicts(router)),
        "form": IntentForm(router=router),
    }
    return _render(request, "console/router.html", context, partial="intents")


@login_required
@require_POST
def intent_create(request: HttpRequest, slug: str) -> HttpResponse:
    router = router_for(request.user, slug, edit=True)
    form = IntentForm(request.POST, router=router)
    if _saved(form, request.user):
        messages.success(request, f"Added intent {form.instance.name} (v{router.version}).")
        return redirect("console:intent", slug=router.slug, name=form.instance.name)
    context = {
        "router": router,
        "intents": reports.intent_rows(router, router_conflicts(router)),
        "form": form,
    }
    return _render(request, "console/router.html", context, partial="new_intent")


@login_required
@require_GET
def intent_row(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    router = router_for(request.user, slug)
    if not request.htmx:
        return redirect("console:router", slug=router.slug)
    return _intent_row(request, router, _intent(router, name).name)


@login_required
@require_http_methods(["GET", "POST"])
def intent_edit(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    """Inline (htmx: handler, threshold, minimum tier, enabled) or full-page (all fields) intent editing."""
    router = router_for(request.user, slug, edit=request.method == "POST")
    intent = _intent(router, name)
    form_class = IntentInlineForm if request.htmx else IntentForm
    form = form_class(request.POST or None, instance=intent, router=router)
    if request.method == "POST" and _saved(form, request.user):
        if request.htmx:
            return _intent_row(request, router, form.instance.name, saved=True)
        messages.success(request, f"Saved intent {form.instance.name}.")
        return redirect("console:router", slug=router.slug)
    return _render(
        request,
        "console/intent_edit.html",
        {"router": router, "intent": intent, "form": form},
        partial="edit_row",
    )


@login_required
@require_POST
def intent_delete(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    router = router_for(request.user, slug, edit=True)
    intent = _intent(router, name)
    config_object_delete(obj=intent, user=request.user)
    messages.success(request, f"Deleted intent {name}.")
    return redirect("console:router", slug=router.slug)


# Intent page: examples and conflicts ---------------------------------------------------------------


def _intent_context(router: Router, intent: Intent, search: str = "") -> dict:
    examples = intent.examples.order_by("-id")
    if search:
        examples = examples.filter(text__icontains=search)
    return {
        "router": router,
        "intent": intent,
        "search": search,
        "examples": examples[:MAX_LISTED_EXAMPLES],
        "example_total": intent.examples.count(),
        # A callable: only the fragments that show conflicts compute them (templates call it).
        "conflicts": functools.partial(router_conflicts, router, intent=intent),
        "example_form": ExampleForm(),
        "bulk_form": BulkExamplesForm(),
    }


@login_required
@require_GET
def intent_detail(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    router = router_for(request.user, slug)
    intent = _intent(router, name)
    search = ExampleSearchForm(request.GET)
    query = search.cleaned_data["q"] if search.is_valid() else ""
    return _render(
        request,
        "console/intent.html",
        _intent_context(router, intent, query),
        partial="example_list",
    )


@login_required
@require_POST
def intent_example_add(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    router = router_for(request.user, slug, edit=True)
    intent = _intent(router, name)
    form = ExampleForm(request.POST)
    feedback = []
    if form.is_valid():
        try:
            example_add(intent=intent, text=form.cleaned_data["text"], user=request.user)
            feedback.append(("success", "Example added."))
            form = ExampleForm()
        except ValidationError as exc:
            feedback.extend(("error", message) for message in exc.messages)
    else:
        feedback.extend(
            ("error", f"{field}: {error}")
            for field, errors in form.errors.items()
            for error in errors
        )
    return _examples_response(request, router, intent, feedback, example_form=form)


@login_required
@require_POST
def intent_examples_bulk(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    router = router_for(request.user, slug, edit=True)
    intent = _intent(router, name)
    form = BulkExamplesForm(request.POST)
    if not form.is_valid():
        feedback = [("error", error) for errors in form.errors.values() for error in errors]
        return _examples_response(request, router, intent, feedback, bulk_form=form)
    result = examples_add_bulk(intent=intent, texts=form.lines(), user=request.user)
    feedback = [
        (
            "success" if result.added else "warning",
            f"Added {len(result.added)}; {len(result.duplicates)} duplicate(s), {result.blank_lines} blank line(s), "
            f"{len(result.rejected)} rejected.",
        )
    ]
    feedback.extend(("error", f"Rejected “{text}”: {why}") for text, why in result.rejected[:20])
    return _examples_response(request, router, intent, feedback, bulk_result=result)


@login_required
@require_POST
def intent_example_delete(request: HttpRequest, slug: str, name: str, pk: int) -> HttpResponse:
    router = router_for(request.user, slug, edit=True)
    intent = _intent(router, name)
    example = get_object_or_404(intent.examples, pk=pk)
    config_object_delete(obj=example, user=request.user)
    return _examples_response(request, router, intent, [("success", f"Deleted “{example.text}”.")])


def _examples_response(
    request: HttpRequest, router: Router, intent: Intent, feedback: list[tuple[str, str]], **forms
) -> HttpResponse:
    if not request.htmx:
        for level, text in feedback:
            messages.add_message(request, getattr(messages, level.upper()), text)
        return redirect("console:intent", slug=router.slug, name=intent.name)
    context = {**_intent_context(router, intent), "feedback": feedback, **forms}
    return _render(request, "console/intent.html#examples", context)


# Rules, tiers ----------------------------------------------------------------------------------------


@login_required
@require_GET
def rules(request: HttpRequest, slug: str) -> HttpResponse:
    """The rules table and the "test this pattern" box (?kind=&pattern=, a fragment for htmx)."""
    router = router_for(request.user, slug)
    test_form = PatternTestForm(request.GET if "pattern" in request.GET else None)
    pattern_test = None
    if test_form.is_bound and test_form.is_valid():
        pattern_test = reports.rule_pattern_test(router, **test_form.cleaned_data)
    context = _rules_context(router, RuleForm(router=router), test_form, pattern_test)
    return _render(request, "console/rules.html", context, partial="pattern_results")


def _rules_context(router: Router, form, test_form, pattern_test) -> dict:
    return {
        "router": router,
        "rules": router.rules.select_related("intent", "tier"),
        "form": form,
        "test_form": test_form,
        "pattern_test": pattern_test,
    }


@login_required
@require_POST
def rule_create(request: HttpRequest, slug: str) -> HttpResponse:
    router = router_for(request.user, slug, edit=True)
    form = RuleForm(request.POST, router=router)
    if _saved(form, request.user):
        messages.success(request, f"Added rule {form.instance}.")
        return redirect("console:rules", slug=router.slug)
    context = _rules_context(router, form, PatternTestForm(), None)
    return _render(request, "console/rules.html", context, partial="rule_form")


@login_required
@require_POST
def rule_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    router = router_for(request.user, slug, edit=True)
    rule = get_object_or_404(Rule, pk=pk, router=router)
    config_object_delete(obj=rule, user=request.user)
    messages.success(request, f"Deleted rule {rule}.")
    return redirect("console:rules", slug=router.slug)


@login_required
@require_GET
def tiers(request: HttpRequest, slug: str) -> HttpResponse:
    router = router_for(request.user, slug)
    context = {
        "router": router,
        "tier_rows": reports.tier_rows(router),
        "form": TierForm(router=router),
    }
    return _render(request, "console/tiers.html", context, partial="tiers")


@login_required
@require_http_methods(["GET", "POST"])
def tier_edit(request: HttpRequest, slug: str, pk: int | None = None) -> HttpResponse:
    router = router_for(request.user, slug, edit=request.method == "POST")
    tier = get_object_or_404(ModelTier, pk=pk, router=router) if pk else None
    form = TierForm(request.POST or None, instance=tier, router=router)
    if request.method == "POST" and _saved(form, request.user):
        messages.success(request, f"Saved tier {form.instance.name}.")
        return redirect("console:tiers", slug=router.slug)
    return _render(
        request,
        "console/tier_edit.html",
        {"router": router, "tier": tier, "form": form},
        partial="tier_form",
    )


# Policy with preview ---------------------------------------------------------------------------------


def _unsaved_policy(saved: Policy, cleaned: dict) -> Policy:
    return policy_with_changes(saved, cleaned)


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
    return _render(request, "console/policy.html", context, partial="preview")


def _policy_preview(router: Router, cleaned: dict) -> reports.PolicyPreview:
    """Route sample and recent queries with the saved policy and with the unsaved one."""
    samples = reports.sample_queries(router)
    queries = [sample.text for sample in samples]
    before = decide_batch(router=router, queries=queries)
    after = decide_batch(
        router=router, queries=queries, policy=_unsaved_policy(_saved_policy(router), cleaned)
    )
    return reports.policy_preview(samples, before, after)


# Versions ------------------------------------------------------------------------------------------


@login_required
@require_GET
def versions(request: HttpRequest, slug: str) -> HttpResponse:
    router = router_for(request.user, slug)
    return _render(
        request,
        "console/versions.html",
        {"router": router, "history": reports.version_history(router)},
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
        return _render(
            request,
            "console/versions.html#history",
            {"router": router, "history": reports.version_history(router), "show_messages": True},
        )
    return redirect("console:versions", slug=router.slug)


# Playground ----------------------------------------------------------------------------------------


def _playground_context(router: Router, **extra) -> dict:
    return {
        "router": router,
        "intents": Intent.objects.for_router(router).enabled().order_by("name"),
        "mode": "single",
        **extra,
    }


@login_required
@require_GET
def playground(request: HttpRequest, slug: str) -> HttpResponse:
    """Route one query (?q=); htmx re-renders only the decision card as the operator types."""
    router = router_for(request.user, slug)
    form = QueryForm(request.GET if request.GET.get("q", "").strip() else None)
    result = _decide(router, form.cleaned_data["q"]) if form.is_bound and form.is_valid() else None
    context = _playground_context(router, form=form, result=result)
    response = _render(request, "console/playground.html", context, partial="decision")
    if request.htmx and form.is_bound:
        push_url(response, f"{request.path}?{urlencode({'q': request.GET['q']})}")
    return response


@login_required
@require_GET
def playground_compare(request: HttpRequest, slug: str) -> HttpResponse:
    """The same query through the saved policy (A) and another method/threshold (B), side by side."""
    router = router_for(request.user, slug)
    form = CompareForm(request.GET if request.GET.get("q", "").strip() else None)
    results = None
    if form.is_bound and form.is_valid():
        saved = _saved_policy(router)
        threshold_b = form.cleaned_data["threshold_b"]
        strategy_b = dataclasses.replace(
            saved,
            method=form.cleaned_data["method_b"],
            threshold=saved.threshold if threshold_b is None else threshold_b,
        )
        results = [
            (
                "A",
                f"saved: {saved.method}, threshold {saved.threshold:g}",
                _decide(router, form.cleaned_data["q"]),
            ),
            (
                "B",
                f"{strategy_b.method}, threshold {strategy_b.threshold:g}",
                _decide(router, form.cleaned_data["q"], strategy_b),
            ),
        ]
    context = _playground_context(router, form=form, results=results, mode="compare")
    return _render(request, "console/playground_compare.html", context, partial="comparison")


@login_required
@require_http_methods(["GET", "POST"])
def playground_batch(request: HttpRequest, slug: str) -> HttpResponse:
    """Up to 500 queries at once: a table, the distribution over intents and tiers, cost vs baseline."""
    router = router_for(request.user, slug)
    form = BatchForm(request.POST or None)
    summary = chart = engine_error = None
    if request.method == "POST" and form.is_valid():
        queries = form.cleaned_data["queries"]
        try:
            decisions = decide_batch(router=router, queries=queries)
        except EngineError as exc:
            engine_error = str(exc)
        else:
            summary = reports.batch_summary(queries, decisions)
            chart = charts.figure_html(
                charts.distribution_figure(summary.by_intent, summary.by_tier)
            )
    context = _playground_context(
        router, form=form, summary=summary, chart=chart, engine_error=engine_error, mode="batch"
    )
    return _render(request, "console/playground_batch.html", context, partial="batch_results")


@login_required
@require_POST
def playground_correct(request: HttpRequest, slug: str) -> HttpResponse:
    """ "This should be intent X": add the query as a reviewed example (new version), then route it again."""
    router = router_for(request.user, slug, edit=True)
    form = CorrectionForm(request.POST, router=router)
    if not form.is_valid():
        messages.error(request, "Choose one of this router's intents.")
        return redirect(
            reverse("console:playground", kwargs={"slug": router.slug})
            + "?"
            + urlencode({"q": request.POST.get("q", "")})
        )
    query, intent = form.cleaned_data["q"], form.cleaned_data["intent"]
    before = request.POST.get("before", "")
    try:
        example_add(intent=intent, text=query, source=ExampleSource.REVIEW, user=request.user)
        correction = f"Added “{query}” as an example of {intent.name}."
    except ValidationError as exc:
        correction = " ".join(exc.messages)
    if not request.htmx:
        messages.success(request, correction)
        return redirect(
            reverse("console:playground", kwargs={"slug": router.slug})
            + "?"
            + urlencode({"q": query})
        )
    context = _playground_context(
        router,
        form=QueryForm(initial={"q": query}),
        result=_decide(router, query),
        correction=correction,
        before=before,
    )
    return _render(request, "console/playground.html#decision", context)
