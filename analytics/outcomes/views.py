"""Outcomes console: counts, import (CSV, RouteLLM's CSV, JSONL), fitting the quality predictor
(a task whose progress the page polls), and the cost-vs-quality curve at a quality target.

Viewers read everything; only operators import, fit and remove (routing.permissions).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from analytics.outcomes import charts, reports
from analytics.outcomes.forms import OutcomeUploadForm, TargetForm, TrainingForm
from analytics.outcomes.models import QualityTraining
from analytics.outcomes.parsing import REFUSAL_KINDS, OutcomeFileError, outcome_file_parse
from analytics.outcomes.services import (
    outcomes_import,
    quality_training_start,
    ranked_tiers,
    router_tier_names,
)
from routing.models import Router
from routing.permissions import can_edit, router_for
from routing.services.quality_heads import quality_head_remove


def _render(request: HttpRequest, template: str, context: dict, *, partial: str | None = None):
    context = {"can_edit": can_edit(request.user), **context}
    if partial and request.htmx:
        template = f"{template}#{partial}"
    return render(request, f"analytics/outcomes/{template}", context)


def _home_context(request: HttpRequest, router: Router, **forms) -> dict:
    target_form = TargetForm(request.GET or None)
    target = router.quality_target
    if target_form.is_valid() and target_form.cleaned_data["target"] is not None:
        target = target_form.cleaned_data["target"]
    curve = reports.curve_report(router, target=target)
    return {
        "router": router,
        "counts": reports.outcome_counts(router),
        "curve": curve,
        "curve_charts": [(entry, charts.cost_quality_figure(entry)) for entry in curve.curves],
        "trainings": QualityTraining.objects.filter(router=router)[:20],
        "upload_form": forms.get("upload_form") or OutcomeUploadForm(tiers=ranked_tiers(router)),
        "training_form": forms.get("training_form") or TrainingForm(),
        "target_form": target_form,
        "exploring": target != router.quality_target,
    }


@login_required
@require_GET
def outcomes_home(request: HttpRequest, slug: str) -> HttpResponse:
    router = router_for(request.user, slug)
    return _render(request, "home.html", _home_context(request, router), partial="curve")


def _summary(report: dict) -> str:
    text = f"Imported {report['accepted']:,} outcomes"
    if report["shape"] == "routellm":
        text += " (RouteLLM's shape: two per prompt)"
    if report["refused"]:
        kinds = ", ".join(
            f"{REFUSAL_KINDS.get(kind, kind)} ({count})"
            for kind, count in report["by_kind"].items()
        )
        lines = ", ".join(str(row["line"]) for row in report["rows"][:10])
        text += f"; refused {report['refused']:,}: {kinds}; first lines: {lines}"
    return text + "."


@login_required
@require_POST
def outcomes_upload(request: HttpRequest, slug: str) -> HttpResponse:
    router = router_for(request.user, slug, edit=True)
    form = OutcomeUploadForm(request.POST, request.FILES, tiers=ranked_tiers(router))
    if form.is_valid():
        try:
            parse = outcome_file_parse(
                form.cleaned_data["file"].read(),
                tiers=router_tier_names(router),
                cheap_tier=form.cleaned_data["cheap_tier"] or None,
                strong_tier=form.cleaned_data["strong_tier"] or None,
            )
        except OutcomeFileError as exc:
            form.add_error("file", str(exc))
        else:
            with transaction.atomic():
                outcomes_import(router=router, rows=parse.rows, source="import")
                training = (
                    quality_training_start(router=router, user=request.user)
                    if form.cleaned_data["train"] and parse.rows
                    else None
                )
            messages.success(request, _summary(parse.report()))
            if training is not None:
                return redirect("outcomes:training", slug=router.slug, pk=training.pk)
            return redirect("outcomes:home", slug=router.slug)
    response = _render(request, "home.html", _home_context(request, router, upload_form=form))
    response.status_code = 422
    return response


@login_required
@require_POST
def training_create(request: HttpRequest, slug: str) -> HttpResponse:
    router = router_for(request.user, slug, edit=True)
    form = TrainingForm(request.POST)
    if not form.is_valid():
        response = _render(request, "home.html", _home_context(request, router, training_form=form))
        response.status_code = 422
        return response
    with transaction.atomic():
        training = quality_training_start(
            router=router,
            method=form.cleaned_data["method"],
            held_out_fraction=form.cleaned_data["held_out_percent"] / 100,
            seed=form.cleaned_data["seed"],
            user=request.user,
        )
    return redirect("outcomes:training", slug=router.slug, pk=training.pk)


@login_required
@require_GET
def training_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    router = router_for(request.user, slug)
    training = get_object_or_404(QualityTraining, router=router, pk=pk)
    # jsonb keeps keys in its own order: list the tiers cheapest first again.
    metrics = training.metrics.get("tiers", {})
    order = {name: i for i, name in enumerate(ranked_tiers(router))}
    tiers = sorted(metrics.items(), key=lambda item: order.get(item[0], len(order)))
    context = {"router": router, "training": training, "tiers": tiers}
    return _render(request, "training.html", context, partial="progress")


@login_required
@require_POST
def head_remove(request: HttpRequest, slug: str) -> HttpResponse:
    router = router_for(request.user, slug, edit=True)
    removed = quality_head_remove(router=router)
    messages.success(
        request,
        f"Removed {removed} fitted head(s): the complexity floors choose tiers again."
        if removed
        else "There was no fitted head.",
    )
    return redirect("outcomes:home", slug=router.slug)
