"""Shadow tests and the LLM judge in the console: start a shadow test, read its agreement and
disagreements, stop or promote it; the judge's settings, results and today's budget."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_GET, require_POST

from analytics.experiments.budget import judge_settings, judge_settings_save
from analytics.experiments.forms import JudgeSettingsForm, ShadowForm
from analytics.experiments.judge import JUDGE_SYSTEM_PROMPT, JUDGE_USER_TEMPLATE
from analytics.experiments.models import ShadowTest
from analytics.experiments.reports import judge_summary, shadow_summary
from analytics.experiments.shadow import shadow_create, shadow_stop
from analytics.experiments.views import _home, refusal_to_form, render_page
from routing.exceptions import APIError
from routing.permissions import router_for


@login_required
@require_POST
def shadow_start(request: HttpRequest, slug: str) -> HttpResponse:
    router = router_for(request.user, slug, edit=True)
    form = ShadowForm(request.POST)
    if form.is_valid():
        try:
            shadow = shadow_create(router=router, user=request.user, **form.cleaned_data)
        except APIError as error:
            refusal_to_form(form, error)
        else:
            messages.success(request, f"Shadow test {shadow.name!r} is running.")
            return redirect("experiments:shadow", slug=router.slug, pk=shadow.pk)
    return _home(request, router, shadow_form=form, status=422)


def _shadow_for(request: HttpRequest, slug: str, pk: int, *, edit: bool = False):
    router = router_for(request.user, slug, edit=edit)
    return router, get_object_or_404(ShadowTest.objects.filter(router=router), pk=pk)


@login_required
@require_GET
def shadow_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    router, shadow = _shadow_for(request, slug, pk)
    context = {"router": router, "shadow": shadow, "summary": shadow_summary(shadow)}
    return render_page(request, "shadow.html", context)


@login_required
@require_POST
def shadow_end(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    router, shadow = _shadow_for(request, slug, pk, edit=True)
    promote = request.POST.get("promote") == "1"
    try:
        shadow_stop(shadow=shadow, promote=promote, user=request.user)
    except APIError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            f"The candidate is now the configuration (version {shadow.promoted_version})."
            if promote
            else f"Shadow test {shadow.name!r} stopped.",
        )
    return redirect("experiments:shadow", slug=router.slug, pk=shadow.pk)


def _tier_names(router) -> list[str]:
    return list(router.tiers.filter(enabled=True).order_by("rank").values_list("name", flat=True))


@login_required
@require_GET
def judge_page(request: HttpRequest, slug: str) -> HttpResponse:
    return _judge_render(request, router_for(request.user, slug))


def _judge_render(request: HttpRequest, router, *, form=None, status: int = 200) -> HttpResponse:
    settings = judge_settings(router.pk)
    form = form or JudgeSettingsForm(
        tiers=_tier_names(router),
        initial={
            "enabled": settings.enabled,
            "sample_percent": settings.sample_percent,
            "judge_tier": settings.judge_tier,
            "daily_budget_usd": settings.daily_budget_usd,
        },
    )
    context = {
        "router": router,
        "summary": judge_summary(router),
        "form": form,
        "prompt_system": JUDGE_SYSTEM_PROMPT,
        "prompt_user": JUDGE_USER_TEMPLATE,
    }
    response = render_page(request, "judge.html", context)
    response.status_code = status
    return response


@login_required
@require_POST
def judge_settings_update(request: HttpRequest, slug: str) -> HttpResponse:
    router = router_for(request.user, slug, edit=True)
    form = JudgeSettingsForm(request.POST, tiers=_tier_names(router))
    if not form.is_valid():
        return _judge_render(request, router, form=form, status=422)
    judge_settings_save(router_id=router.pk, **form.cleaned_data)
    messages.success(request, "Judge settings saved.")
    return redirect("experiments:judge", slug=router.slug)
