"""Decision browser: a router's logged decisions with filters and cursor paging, one decision's
page (the playground's trace card, the gateway's attempts, feedback) and its actions.

Viewers read; operators rate, send to review and relabel (routing.permissions).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import push_url

from analytics.models import DecisionLog, Feedback
from analytics.review.forms import DecisionFilterForm, FeedbackForm
from analytics.review.models import ReviewDecision
from analytics.review.selectors import decisions_page
from analytics.review.services import review_resolve, review_send
from analytics.services import feedback_from_user
from routing.console import charts
from routing.console.common import render_page
from routing.console.selectors import percent_saved
from routing.engine.decision import IntentScore
from routing.exceptions import APIError
from routing.permissions import router_for


@login_required
@require_GET
def decisions_list(request: HttpRequest, slug: str) -> HttpResponse:
    router = router_for(request.user, slug)
    form = DecisionFilterForm(request.GET or None, router=router)
    try:
        rows, next_cursor = decisions_page(
            router, form.decision_filter(), cursor=request.GET.get("cursor") or None
        )
    except APIError as exc:  # a cursor this page never made
        messages.error(request, exc.message)
        return redirect("review:decisions", slug=router.slug)
    query = request.GET.copy()
    query.pop("cursor", None)
    context = {
        "router": router,
        "form": form,
        "rows": rows,
        "next_url": f"?{urlencode({**query.dict(), 'cursor': next_cursor})}" if next_cursor else "",
        "first_url": f"?{query.urlencode()}" if request.GET.get("cursor") else "",
    }
    response = render_page(request, "analytics/review/decisions.html", context, partial="results")
    if request.htmx:
        push_url(response, f"{request.path}?{request.GET.urlencode()}")
    return response


def _decision_for(request: HttpRequest, slug: str, decision_id, *, edit: bool = False):
    router = router_for(request.user, slug, edit=edit)
    return router, get_object_or_404(DecisionLog, router=router, pk=decision_id)


def _card(row: DecisionLog) -> dict:
    """What console/_decision_card.html shows for a live decision, from the logged row."""
    scores = [IntentScore(**score) for score in (row.trace or {}).get("top_intents") or []]
    return {
        "query": row.query,
        "decision": row,
        "savings_pct": percent_saved(row.estimated_cost_usd, row.baseline_cost_usd),
        "chart": charts.figure_html(charts.intent_scores_figure(scores, chosen=row.intent)),
        "server_ms": None,
    }


def _decision_context(request: HttpRequest, router, row: DecisionLog, **extra) -> dict:
    link = ReviewDecision.objects.filter(decision_id=row.id).select_related("item").first()
    return {
        "router": router,
        "row": row,
        "result": _card(row),
        "feedback": Feedback.objects.filter(decision_id=row.id).select_related("user", "api_key"),
        "feedback_form": FeedbackForm(),
        "item": link.item if link else None,
        "intents": router.intents.order_by("name"),
        "playground_url": reverse("console:playground", args=[router.slug])
        + "?"
        + urlencode({"q": row.query}),
        **extra,
    }


@login_required
@require_GET
def decision_detail(request: HttpRequest, slug: str, decision_id) -> HttpResponse:
    router, row = _decision_for(request, slug, decision_id)
    return render_page(
        request, "analytics/review/decision.html", _decision_context(request, router, row)
    )


def _back(router, row) -> HttpResponse:
    return redirect("review:decision", slug=router.slug, decision_id=row.id)


@login_required
@require_POST
def decision_feedback(request: HttpRequest, slug: str, decision_id) -> HttpResponse:
    router, row = _decision_for(request, slug, decision_id, edit=True)
    form = FeedbackForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Rate the decision up or down.")
        return _back(router, row)
    try:
        feedback_from_user(decision=row, user=request.user, **form.cleaned_data)
    except APIError as exc:
        messages.error(request, exc.message)
    else:
        rating = form.cleaned_data["rating"]
        messages.success(
            request,
            "Thanks: thumbs down, the decision is in the review queue."
            if rating == "down"
            else "Thanks: thumbs up recorded.",
        )
    return _back(router, row)


@login_required
@require_POST
def decision_send(request: HttpRequest, slug: str, decision_id) -> HttpResponse:
    router, row = _decision_for(request, slug, decision_id, edit=True)
    item = review_send(decision=row)
    messages.success(request, f"In the review queue (item {item.pk}).")
    return _back(router, row)


@login_required
@require_POST
def decision_relabel(request: HttpRequest, slug: str, decision_id) -> HttpResponse:
    """The right intent for this decision: its review item is labelled (and the query added as
    an example unless "label only")."""
    router, row = _decision_for(request, slug, decision_id, edit=True)
    item = review_send(decision=row)
    action = "relabel" if request.POST.get("label_only") else "add_example"
    try:
        resolution = review_resolve(
            item=item, action=action, intent=request.POST.get("intent", ""), user=request.user
        )
    except APIError as exc:
        messages.error(request, exc.message)
    else:
        version = f" Version {resolution.version}." if resolution.version else ""
        messages.success(
            request,
            f"Labelled {resolution.item.reviewed_intent}.{version} {resolution.note}".strip(),
        )
    return _back(router, row)
