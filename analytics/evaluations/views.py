"""Evaluations console: labelled sets (upload -> report -> confirm, split, add as examples), runs
(start, progress polled by htmx, cancel, results, apply thresholds) and comparisons.

Viewers read everything; only operators upload, run, cancel and apply (routing.permissions).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRefresh

from analytics.evaluations import charts, reports
from analytics.evaluations.forms import (
    ApplyForm,
    CompareForm,
    RunForm,
    SplitForm,
    TargetForm,
    UploadForm,
)
from analytics.evaluations.models import EvaluationRun, LabelledSet, RunState
from analytics.evaluations.parsing import REFUSAL_KINDS, LabelledFileError
from analytics.evaluations.services import (
    evaluation_apply,
    evaluation_run_cancel,
    evaluation_run_create,
    labelled_set_confirm,
    labelled_set_examples_add,
    labelled_set_from_review,
    labelled_set_split,
    labelled_set_upload,
)
from routing.exceptions import APIError
from routing.forms import PolicyForm
from routing.models import Router
from routing.permissions import can_edit, router_for


def _render(request: HttpRequest, template: str, context: dict, *, partial: str | None = None):
    context = {"can_edit": can_edit(request.user), **context}
    if partial and request.htmx:
        template = f"{template}#{partial}"
    return render(request, f"analytics/evaluations/{template}", context)


def _versions(router: Router) -> list[int]:
    return list(router.versions.order_by("-number").values_list("number", flat=True)[:200])


@login_required
@require_GET
def evaluations_home(request: HttpRequest, slug: str) -> HttpResponse:
    router = router_for(request.user, slug)
    context = {
        "router": router,
        "sets": LabelledSet.objects.filter(router=router).order_by("-created_at")[:100],
        "runs": EvaluationRun.objects.filter(router=router)
        .select_related("labelled_set")
        .order_by("-created_at")[:100],
        "upload_form": UploadForm(),
    }
    return _render(request, "home.html", context)


@login_required
@require_POST
def set_upload(request: HttpRequest, slug: str) -> HttpResponse:
    router = router_for(request.user, slug, edit=True)
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            labelled_set = labelled_set_upload(
                router=router,
                content=upload.read(),
                filename=upload.name,
                name=form.cleaned_data["name"],
                user=request.user,
            )
        except LabelledFileError as exc:
            form.add_error("file", str(exc))
        else:
            return redirect("evaluations:set", slug=router.slug, pk=labelled_set.pk)
    context = {
        "router": router,
        "sets": LabelledSet.objects.filter(router=router)[:100],
        "runs": EvaluationRun.objects.filter(router=router).select_related("labelled_set")[:100],
        "upload_form": form,
    }
    response = _render(request, "home.html", context)
    response.status_code = 422
    return response


@login_required
@require_POST
def set_from_review(request: HttpRequest, slug: str) -> HttpResponse:
    """Snapshot the review queue's labels as a labelled set (later reviews leave it as it is)."""
    router = router_for(request.user, slug, edit=True)
    try:
        labelled_set = labelled_set_from_review(
            router=router, name=request.POST.get("name", "").strip()[:200], user=request.user
        )
    except APIError as exc:
        messages.error(request, exc.message)
        return redirect("evaluations:home", slug=router.slug)
    messages.success(request, f"Saved {labelled_set.row_count:,} reviewed labels as a set.")
    return redirect("evaluations:set", slug=router.slug, pk=labelled_set.pk)


def _set_for(request: HttpRequest, slug: str, pk: int, *, edit: bool = False):
    router = router_for(request.user, slug, edit=edit)
    return router, get_object_or_404(LabelledSet, router=router, pk=pk)


@login_required
@require_GET
def set_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    router, labelled_set = _set_for(request, slug, pk)
    rows = labelled_set.rows
    context = {
        "router": router,
        "labelled_set": labelled_set,
        "report": labelled_set.refusals,
        "refusal_counts": [
            (REFUSAL_KINDS.get(kind, kind), count)
            for kind, count in (labelled_set.refusals.get("by_kind") or {}).items()
        ],
        "held_out": rows.filter(held_out=True).count(),
        "out_of_scope": rows.filter(intent__isnull=True).count(),
        "sample": rows.order_by("position")[:20],
        "split_form": SplitForm(
            initial={
                "held_out_percent": round(labelled_set.held_out_fraction * 100) or 20,
                "seed": labelled_set.split_seed or 0,
            }
        ),
        "run_form": RunForm(versions=_versions(router)),
        "runs": labelled_set.runs.order_by("-created_at")[:50],
    }
    return _render(request, "set.html", context)


@login_required
@require_POST
def set_confirm(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    router, labelled_set = _set_for(request, slug, pk, edit=True)
    if request.POST.get("action") == "discard":
        labelled_set.delete()
        messages.success(request, "The upload was discarded; nothing was saved.")
        return redirect("evaluations:home", slug=router.slug)
    try:
        labelled_set_confirm(labelled_set=labelled_set)
    except APIError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Saved {labelled_set.row_count:,} labelled queries.")
    return redirect("evaluations:set", slug=router.slug, pk=labelled_set.pk)


@login_required
@require_POST
def set_split(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    router, labelled_set = _set_for(request, slug, pk, edit=True)
    form = SplitForm(request.POST)
    if form.is_valid():
        count = labelled_set_split(
            labelled_set=labelled_set,
            fraction=form.cleaned_data["held_out_percent"] / 100,
            seed=form.cleaned_data["seed"],
        )
        messages.success(request, f"{count:,} rows are held out (never added as examples).")
    else:
        messages.error(request, "; ".join(e for errors in form.errors.values() for e in errors))
    return redirect("evaluations:set", slug=router.slug, pk=labelled_set.pk)


@login_required
@require_POST
def set_examples_add(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    router, labelled_set = _set_for(request, slug, pk, edit=True)
    if not labelled_set.confirmed:
        messages.error(request, "Confirm the set first.")
        return redirect("evaluations:set", slug=router.slug, pk=labelled_set.pk)
    try:
        results = labelled_set_examples_add(labelled_set=labelled_set, user=request.user)
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    else:
        added = sum(len(result.added) for result in results.values())
        skipped = sum(len(r.duplicates) + len(r.rejected) for r in results.values())
        router.refresh_from_db(fields=["version"])
        messages.success(
            request,
            f"Added {added:,} examples as version {router.version} "
            f"({skipped:,} skipped: already examples or refused).",
        )
    return redirect("evaluations:set", slug=router.slug, pk=labelled_set.pk)


@login_required
@require_POST
def run_create(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    router, labelled_set = _set_for(request, slug, pk, edit=True)
    form = RunForm(request.POST, versions=_versions(router))
    if not form.is_valid():
        messages.error(request, "; ".join(e for errors in form.errors.values() for e in errors))
        return redirect("evaluations:set", slug=router.slug, pk=labelled_set.pk)
    return _run_start(request, router, labelled_set, **form.cleaned_data)


def _run_start(request, router, labelled_set, **options) -> HttpResponse:
    try:
        with transaction.atomic():
            run = evaluation_run_create(labelled_set=labelled_set, user=request.user, **options)
    except APIError as exc:
        messages.error(request, exc.message)
        return redirect("evaluations:set", slug=router.slug, pk=labelled_set.pk)
    return redirect("evaluations:run", slug=router.slug, pk=run.pk)


@login_required
@require_POST
def policy_evaluate(request: HttpRequest, slug: str) -> HttpResponse:
    """The policy page's unsaved edits, evaluated on the router's latest labelled set."""
    router = router_for(request.user, slug, edit=True)
    form = PolicyForm(request.POST, router=router)
    labelled_set = LabelledSet.objects.confirmed().filter(router=router).first()
    if labelled_set is None:
        messages.error(request, "Upload and confirm a labelled set first.")
        return redirect("evaluations:home", slug=router.slug)
    if not form.is_valid():
        messages.error(request, "The policy edits are not valid; fix them on the policy page.")
        return redirect("console:policy", slug=router.slug)
    changes = {
        name: (value.name if hasattr(value, "name") else value)
        for name, value in form.cleaned_data.items()
    }
    return _run_start(request, router, labelled_set, policy_changes=changes)


def _run_for(request: HttpRequest, slug: str, pk: int, *, edit: bool = False):
    router = router_for(request.user, slug, edit=edit)
    run = get_object_or_404(
        EvaluationRun.objects.select_related("labelled_set"), router=router, pk=pk
    )
    return router, run


@login_required
@require_GET
def run_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    router, run = _run_for(request, slug, pk)
    if request.htmx and request.GET.get("poll") and run.finished:
        return HttpResponseClientRefresh()  # the results need the whole page
    context = {"router": router, "run": run}
    if run.state == RunState.DONE:
        target = TargetForm(request.GET or None)
        values = target.cleaned_data if target.is_valid() else {}
        report = reports.run_report(
            run,
            min_in_scope=values.get("min_in_scope") or 0.95,
            weight=values.get("weight") if values.get("weight") is not None else 0.5,
        )
        context.update(
            report=report,
            all_intents=request.GET.get("all_intents") == "1",
            target_form=target if target.is_bound else TargetForm(),
            # No wrong decision, nothing to plot: an empty heatmap only looks broken.
            confusion_chart=charts.confusion_figure(
                report.confusion_labels,
                report.confusion_counts,
                cell_url=reverse("evaluations:run_cell", args=[router.slug, run.pk]),
            )
            if report.confusion_cells
            else "",
            curve_chart=charts.threshold_curve_figure(
                report.curve,
                current=report.suggestions["current"],
                suggested=report.suggestions["target"]
                if report.suggestions["target"].get("threshold") is not None
                else report.suggestions["weighted"],
            ),
            reliability_chart=charts.reliability_figure(report.calibration),
            apply_form=ApplyForm(
                initial={"threshold": report.suggestions["threshold"]},
                per_intent=report.suggestions["per_intent_thresholds"],
            ),
            others=EvaluationRun.objects.filter(
                labelled_set=run.labelled_set, state=RunState.DONE
            ).exclude(pk=run.pk)[:50],
        )
    return _render(request, "run.html", context, partial="progress")


@login_required
@require_POST
def run_cancel(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    router, run = _run_for(request, slug, pk, edit=True)
    if evaluation_run_cancel(run=run):
        messages.success(request, f"Cancelled after {run.done:,} of {run.total:,} queries.")
    else:
        messages.warning(request, f"The run had already {run.get_state_display()}.")
    return redirect("evaluations:run", slug=router.slug, pk=run.pk)


@login_required
@require_GET
def run_cell(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    router, run = _run_for(request, slug, pk)
    expected = request.GET.get("expected", "")[:100]
    predicted = request.GET.get("predicted", "")[:100]
    queries = reports.cell_queries(run, expected=expected, predicted=predicted)
    context = {
        "router": router,
        "run": run,
        "expected": expected,
        "predicted": predicted,
        "count": queries.count(),
        "queries": queries[:500],
    }
    return _render(request, "cell.html", context)


@login_required
@require_POST
def run_apply(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    router, run = _run_for(request, slug, pk, edit=True)
    per_intent = (run.suggestions or {}).get("per_intent_thresholds", {})
    # The page may have shown suggestions for another target: those per-intent values come along.
    for key, value in request.POST.items():
        if key.startswith("intent_threshold:"):
            try:
                per_intent[key.split(":", 1)[1]] = float(value)
            except ValueError:
                pass
    form = ApplyForm(request.POST, per_intent=per_intent)
    if not form.is_valid():
        messages.error(request, "; ".join(e for errors in form.errors.values() for e in errors))
        return redirect("evaluations:run", slug=router.slug, pk=run.pk)
    chosen = {name: per_intent[name] for name in form.cleaned_data["intents"]}
    try:
        number = evaluation_apply(
            run=run,
            threshold=form.cleaned_data["threshold"],
            intent_thresholds=chosen,
            user=request.user,
        )
    except (ValidationError, APIError) as exc:
        messages.error(request, getattr(exc, "message", None) or "; ".join(exc.messages))
    else:
        messages.success(request, f"Applied as version {number}.")
    return redirect("evaluations:run", slug=router.slug, pk=run.pk)


@login_required
@require_GET
def runs_compare(request: HttpRequest, slug: str) -> HttpResponse:
    router = router_for(request.user, slug)
    form = CompareForm(request.GET)
    if not form.is_valid():
        messages.error(request, "Choose two runs to compare.")
        return redirect("evaluations:home", slug=router.slug)
    runs = EvaluationRun.objects.filter(router=router, state=RunState.DONE)
    a = get_object_or_404(runs, pk=form.cleaned_data["a"])
    b = get_object_or_404(runs, pk=form.cleaned_data["b"])
    context = {
        "router": router,
        "a": a,
        "b": b,
        "same_set": a.labelled_set_id == b.labelled_set_id,
        "comparison": reports.runs_compare(a, b),
    }
    return _render(request, "compare.html", context)
