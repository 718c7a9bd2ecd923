"""Experiments console: the list with a new-experiment form, an experiment's per-arm results,
pause/resume/stop, weights and promote. Viewers read; operators change (routing.permissions)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from analytics.experiments import charts, services, stats
from analytics.experiments.forms import ExperimentForm, ShadowForm, WeightsForm
from analytics.experiments.models import Experiment, ShadowTest
from analytics.experiments.results import arm_results, winning_arm
from routing.exceptions import APIError
from routing.permissions import can_edit, router_for

ACTIONS = {
    "pause": services.experiment_pause,
    "start": services.experiment_start,
    "stop": services.experiment_stop,
}


def render_page(request: HttpRequest, template: str, context: dict, *, partial: str = ""):
    context = {"can_edit": can_edit(request.user), **context}
    if partial and request.htmx:
        template = f"{template}#{partial}"
    return render(request, f"analytics/experiments/{template}", context)


def refusal_to_form(form, error: APIError) -> None:
    """A service's refusal on the form: each problem it listed, or its message."""
    problems = (error.details or {}).get("problems") if isinstance(error.details, dict) else None
    for problem in problems or [{"field": "", "message": error.message}]:
        where = f"{problem['field']}: " if problem.get("field") else ""
        form.add_error(None, f"{where}{problem['message']}")


def _home(request: HttpRequest, router, *, form=None, shadow_form=None, status: int = 200):
    context = {
        "router": router,
        "experiments": Experiment.objects.filter(router=router).prefetch_related("arms")[:100],
        "shadows": ShadowTest.objects.filter(router=router)[:50],
        "form": form or ExperimentForm(),
        "shadow_form": shadow_form or ShadowForm(),
        "versions": list(router.versions.order_by("-number").values_list("number", flat=True)[:20]),
    }
    response = render_page(request, "home.html", context)
    response.status_code = status
    return response


@login_required
@require_GET
def experiments_home(request: HttpRequest, slug: str) -> HttpResponse:
    return _home(request, router_for(request.user, slug))


@login_required
@require_POST
def experiment_create(request: HttpRequest, slug: str) -> HttpResponse:
    router = router_for(request.user, slug, edit=True)
    form = ExperimentForm(request.POST)
    if form.is_valid():
        try:
            experiment = services.experiment_create(
                router=router,
                name=form.cleaned_data["name"],
                arms=form.arms(),
                control_percent=form.cleaned_data["control_percent"],
                sticky_by=form.cleaned_data["sticky_by"],
                start=form.cleaned_data["start"],
                user=request.user,
            )
        except APIError as error:
            refusal_to_form(form, error)
        else:
            messages.success(request, f"Experiment {experiment.name!r} created.")
            return redirect("experiments:detail", slug=router.slug, pk=experiment.pk)
    return _home(request, router, form=form, status=422)


def _experiment_for(request: HttpRequest, slug: str, pk: int, *, edit: bool = False):
    router = router_for(request.user, slug, edit=edit)
    return router, get_object_or_404(Experiment.objects.filter(router=router), pk=pk)


@login_required
@require_GET
@vary_on_headers("HX-Request")
def experiment_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    router, experiment = _experiment_for(request, slug, pk)
    results = arm_results(experiment)
    arms = [arm for arm in experiment.arms.all() if not arm.control]
    context = {
        "router": router,
        "experiment": experiment,
        "results": results,
        "winner": winning_arm(results),
        "cost_chart": charts.arm_cost_figure(results),
        "weights_form": WeightsForm(
            arms=arms, initial={"control_percent": experiment.control_percent}
        ),
        "running": experiment.status in ("running", "paused"),
        "tests_used": {
            "mean": stats.WELCH_TEST,
            "mean_minimum": f"{stats.MIN_MEAN_SAMPLE} observations in each arm",
            "rate": stats.TWO_PROPORTION_TEST,
            "rate_minimum": f"{stats.MIN_PROPORTION_COUNT} successes and failures in each arm",
        },
    }
    return render_page(request, "experiment.html", context, partial="results")


@login_required
@require_POST
def experiment_action(request: HttpRequest, slug: str, pk: int, action: str) -> HttpResponse:
    router, experiment = _experiment_for(request, slug, pk, edit=True)
    change = ACTIONS.get(action)
    if change is None:
        return HttpResponse(status=404)
    try:
        change(experiment=experiment)
    except APIError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Experiment {experiment.name!r} is {experiment.status}.")
    return redirect("experiments:detail", slug=router.slug, pk=experiment.pk)


@login_required
@require_POST
def experiment_weights(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    router, experiment = _experiment_for(request, slug, pk, edit=True)
    arms = [arm for arm in experiment.arms.all() if not arm.control]
    form = WeightsForm(request.POST, arms=arms)
    if not form.is_valid():
        messages.error(request, "Weights are numbers above 0; the control share 0 to 50%.")
    else:
        try:
            services.experiment_weights_change(
                experiment=experiment,
                weights=form.weights(),
                control_percent=form.cleaned_data["control_percent"],
            )
        except APIError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Weights changed; only the users the change needs moved.")
    return redirect("experiments:detail", slug=router.slug, pk=experiment.pk)


@login_required
@require_POST
def experiment_promote(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    router, experiment = _experiment_for(request, slug, pk, edit=True)
    arm = request.POST.get("arm", "")[:64]
    try:
        services.experiment_promote(experiment=experiment, arm_name=arm, user=request.user)
    except APIError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            f"Arm {arm!r} is now the configuration (version {experiment.promoted_version}).",
        )
    return redirect("experiments:detail", slug=router.slug, pk=experiment.pk)
