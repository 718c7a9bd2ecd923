"""The playground: route one query live, compare two strategies, route a batch, correct a decision."""

from __future__ import annotations

import dataclasses
import time
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import push_url

from routing.console import charts, selectors
from routing.console.common import render_page, saved_policy
from routing.console.playground_context import pasted_context
from routing.decide import decide, decide_batch
from routing.decision_hooks import hooks
from routing.engine.errors import EngineError
from routing.engine.snapshot import Policy
from routing.forms import BatchForm, CompareForm, CorrectionForm, QueryForm
from routing.gateway import answers, service
from routing.gateway.errors import NoTierAnswered
from routing.models import ExampleSource, Intent, Router
from routing.permissions import router_for
from routing.providers import ChatOptions
from routing.services.examples import ExampleOwnedElsewhere, example_add, example_move


def _decide(router: Router, query: str, policy: Policy | None = None, context=None) -> dict:
    """One decision plus what the decision card shows with it (or the engine's error)."""
    started = time.perf_counter()
    try:
        decision = decide(router=router, query=query, policy=policy, context=context)
    except EngineError as exc:
        return {"query": query, "decision": None, "engine_error": str(exc)}
    if policy is None:  # logged as the console's, kept out of traffic; an unsaved strategy is not
        hooks.record(
            router=router,
            queries=[query],
            decisions=[decision],
            principal=None,
            channel="playground",
        )
    return {
        "query": query,
        "decision": decision,
        "savings_pct": selectors.savings_pct(decision),
        "chart": charts.figure_html(
            charts.intent_scores_figure(decision.trace.top_intents, chosen=decision.intent)
        ),
        "server_ms": (time.perf_counter() - started) * 1000,
    }


def _playground_context(router: Router, **extra) -> dict:
    return {
        "router": router,
        "intents": Intent.objects.for_router(router).enabled().order_by("name"),
        "mode": "single",
        **extra,
    }


def _playground_url(router: Router, query: str, **offer) -> str:
    url = reverse("console:playground", kwargs={"slug": router.slug})
    return f"{url}?{urlencode({'q': query, **offer})}"


def _move_offer(router: Router, example_id: str | int, intent_name: str) -> dict | None:
    """ "Move it here": another intent's example with this text, and the intent it should be."""
    intent = router.intents.filter(name=intent_name).first()
    if intent is None or not str(example_id).isdigit():
        return None
    found = selectors.examples_elsewhere(router, intent, ids=[int(example_id)])
    return {"example": found[0], "intent": intent} if found else None


@login_required
@require_GET
def playground(request: HttpRequest, slug: str) -> HttpResponse:
    """Route one query (?q=); htmx re-renders only the decision card as the operator types."""
    router = router_for(request.user, slug)
    form = QueryForm(request.GET if request.GET.get("q", "").strip() else None)
    pasted = pasted_context(request.GET.get("context", ""))
    result = None
    if form.is_bound and form.is_valid() and not pasted.error:
        result = _decide(router, form.cleaned_data["q"], context=pasted.context)
    offer = _move_offer(router, request.GET.get("move", ""), request.GET.get("to", ""))
    context = _playground_context(
        router,
        form=form,
        result=result,
        move_offer=offer,
        pasted=pasted,
        pasted_text=request.GET.get("context", ""),
    )
    response = render_page(request, "console/playground.html", context, partial="decision")
    if request.htmx and form.is_bound:
        pushed = {
            "q": request.GET["q"],
            **({"context": c} if (c := request.GET.get("context")) else {}),
        }
        push_url(response, f"{request.path}?{urlencode(pushed)}")
    return response


@login_required
@require_GET
def playground_compare(request: HttpRequest, slug: str) -> HttpResponse:
    """The same query through the saved policy (A) and another method/threshold (B), side by side."""
    router = router_for(request.user, slug)
    form = CompareForm(request.GET if request.GET.get("q", "").strip() else None)
    results = None
    if form.is_bound and form.is_valid():
        saved = saved_policy(router)
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
    return render_page(request, "console/playground_compare.html", context, partial="comparison")


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
            hooks.record(
                router=router,
                queries=queries,
                decisions=decisions,
                principal=None,
                channel="console",
            )
            summary = selectors.batch_summary(queries, decisions)
            chart = charts.figure_html(
                charts.distribution_figure(summary.by_intent, summary.by_tier)
            )
    context = _playground_context(
        router, form=form, summary=summary, chart=chart, engine_error=engine_error, mode="batch"
    )
    return render_page(request, "console/playground_batch.html", context, partial="batch_results")


@login_required
@require_POST
def playground_correct(request: HttpRequest, slug: str) -> HttpResponse:
    """ "This should be intent X": add the query as a reviewed example (new version), then route it again."""
    router = router_for(request.user, slug, edit=True)
    form = CorrectionForm(request.POST, router=router)
    if not form.is_valid():
        messages.error(request, "Choose one of this router's intents.")
        return redirect(_playground_url(router, request.POST.get("q", "")))
    query, intent = form.cleaned_data["q"], form.cleaned_data["intent"]
    before = request.POST.get("before", "")
    offer = None
    move = _move_offer(router, request.POST.get("move", ""), intent.name)
    if move and move["example"].text != query:  # only the example the offer named
        move = None
    try:
        if move:
            source = move["example"].intent.name
            example_move(example=move["example"], intent=intent, user=request.user)
            correction = f"Moved “{query}” from {source} to {intent.name}."
        else:
            example_add(intent=intent, text=query, source=ExampleSource.REVIEW, user=request.user)
            correction = f"Added “{query}” as an example of {intent.name}."
    except ExampleOwnedElsewhere as exc:
        correction = " ".join(exc.messages)
        offer = _move_offer(router, exc.example_id, intent.name)
    except ValidationError as exc:
        correction = " ".join(exc.messages)
    if not request.htmx:
        messages.success(request, correction)
        where = {"move": offer["example"].pk, "to": intent.name} if offer else {}
        return redirect(_playground_url(router, query, **where))
    context = _playground_context(
        router,
        form=QueryForm(initial={"q": query}),
        result=_decide(router, query),
        correction=correction,
        before=before,
        move_offer=offer,
    )
    return render_page(request, "console/playground.html#decision", context)


@login_required
@require_POST
def playground_run(request: HttpRequest, slug: str) -> HttpResponse:
    """ "Run": the routed tier answers (escalating like the gateway). With `Accept:
    text/event-stream` (the page's script) the answer streams as the gateway's SSE; without
    JavaScript the page comes back with the whole answer. Either way the attempts are listed."""
    router = router_for(request.user, slug, edit=True)  # a call to a model costs money
    form = QueryForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Type a query to run.")
        return redirect(reverse("console:playground", kwargs={"slug": router.slug}))
    query = form.cleaned_data["q"]
    run = service.gateway_start(
        service.GatewayRequest(
            router=router,
            query=query,
            messages=[{"role": "user", "content": query}],
            options=ChatOptions(),
            channel="playground",
        )
    )
    if "text/event-stream" in request.headers.get("Accept", ""):
        return StreamingHttpResponse(_run_events(run), content_type="text/event-stream")
    try:
        body = service.gateway_complete(run)
        outcome = {"answer": body["choices"][0]["message"]["content"], "error": ""}
    except NoTierAnswered as exc:
        outcome = {"answer": "", "error": exc.message}
    outcome.update(attempts=run.attempts, tier=run.answer_tier.name if run.answer_tier else None)
    context = _playground_context(
        router, form=QueryForm(initial={"q": query}), result=_decide(router, query), run=outcome
    )
    return render_page(request, "console/playground.html", context)


def _run_events(run: service.GatewayRun):
    try:
        opened = service.gateway_stream_open(run)
    except NoTierAnswered as exc:
        yield answers.sse({"error": {"message": exc.message, "details": exc.details}}, "error")
        yield answers.SSE_DONE
        return
    yield from service.gateway_stream_events(run, opened)
