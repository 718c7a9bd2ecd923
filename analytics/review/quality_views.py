"""Live quality: the confusion matrix of reviewed decisions, per-intent metrics, the mis-routing
rate from the random sample, suggested new intents (clusters), and the reviewed labels."""

from __future__ import annotations

import csv

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from analytics.review import charts
from analytics.review.forms import ClusterIntentForm
from analytics.review.models import ReviewItem
from analytics.review.selectors import (
    CLUSTER_SIMILARITY,
    cell_items,
    quality_report,
    query_clusters,
    reviewed_labels,
)
from analytics.review.services import cluster_intent_create
from routing.console.common import render_page
from routing.exceptions import APIError
from routing.permissions import router_for


@login_required
@require_GET
def quality(request: HttpRequest, slug: str) -> HttpResponse:
    router = router_for(request.user, slug)
    report = quality_report(router)
    chart = (
        charts.review_confusion_figure(
            report.labels, report.counts, cell_url=reverse("review:cell", args=[router.slug])
        )
        if report.reviewed
        else ""
    )
    context = {
        "router": router,
        "report": report,
        "chart": chart,
        "per_intent": sorted(report.per_intent.items()),
        "clusters": query_clusters(router),
        "cluster_form": ClusterIntentForm(),
        "cluster_similarity": CLUSTER_SIMILARITY,
        "sample_pct": f"{settings.SEMROUTE_REVIEW_SAMPLE_RATE:.1%}",
    }
    return render_page(request, "analytics/review/quality.html", context)


@login_required
@require_GET
def cell(request: HttpRequest, slug: str) -> HttpResponse:
    router = router_for(request.user, slug)
    reviewed = request.GET.get("reviewed", "")[:100]
    decided = request.GET.get("decided", "")[:100]
    items = cell_items(router, reviewed=reviewed, decided=decided)
    context = {
        "router": router,
        "reviewed": reviewed,
        "decided": decided,
        "count": items.count(),
        "items": items[:500],
    }
    return render_page(request, "analytics/review/cell.html", context)


@login_required
@require_POST
def cluster_create(request: HttpRequest, slug: str) -> HttpResponse:
    router = router_for(request.user, slug, edit=True)
    form = ClusterIntentForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Name the new intent.")
        return redirect("review:quality", slug=router.slug)
    items = list(
        ReviewItem.objects.defer("vector").filter(router=router, pk__in=form.item_ids()).open()
    )
    try:
        intent = cluster_intent_create(
            router=router,
            name=form.cleaned_data["name"],
            description=form.cleaned_data["description"],
            items=items,
            user=request.user,
        )
    except APIError as exc:
        messages.error(request, exc.message)
        return redirect("review:quality", slug=router.slug)
    messages.success(
        request,
        f"Created intent {intent.name} with {len(items)} example(s), version {router.version}.",
    )
    return redirect("console:intent", slug=router.slug, name=intent.name)


@login_required
@require_GET
def labels(request: HttpRequest, slug: str) -> HttpResponse:
    """Every reviewed label (who, when); ?format=csv downloads them as a labelled-set file."""
    router = router_for(request.user, slug)
    rows = reviewed_labels(router)
    if request.GET.get("format") == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{router.slug}-reviewed.csv"'
        writer = csv.writer(response)
        writer.writerow(["text", "intent", "reviewer", "reviewed_at"])
        for label in rows:
            when = label.reviewed_at.isoformat() if label.reviewed_at else ""
            writer.writerow([label.text, label.intent or "oos", label.reviewer, when])
        return response
    return render_page(request, "analytics/review/labels.html", {"router": router, "labels": rows})
