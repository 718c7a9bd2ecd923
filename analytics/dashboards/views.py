"""Dashboard pages: per router (/r/<slug>/dashboard/) and across routers (/dashboards/).

Each section is one page of charts read from the rollups; every chart has its table beside it and
a CSV download. The time range form is a plain GET (htmx swaps only the panels). Viewers and
operators read; the alert settings (alerts_page) are the operators'.
"""

from __future__ import annotations

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from analytics.alerts.forms import AlertSettingsForm
from analytics.alerts.models import Alert, AlertSettings
from analytics.dashboards import reports
from analytics.dashboards.charts import chart_html
from analytics.dashboards.sections import SECTIONS, section_tables
from analytics.dashboards.timespan import PRESET_LABELS, span_from
from routing.permissions import can_edit, require_edit, require_view, router_for


def _scope(request: HttpRequest, slug: str | None):
    if slug is None:
        require_view(request.user)
        return None
    return router_for(request.user, slug)


@login_required
@require_GET
def dashboard(
    request: HttpRequest, slug: str | None = None, section: str = "traffic"
) -> HttpResponse:
    router = _scope(request, slug)
    if section not in SECTIONS:
        raise Http404("No such dashboard section.")
    now = timezone.now()
    span, problems = span_from(request.GET, now=now)
    tables = section_tables(section=section, router=router, span=span, now=now)
    context = {
        "router": router,
        "section": section,
        "section_label": SECTIONS[section],
        "sections": SECTIONS,
        "span": span,
        "presets": PRESET_LABELS,
        "problems": problems,
        "panels": [(table, chart_html(table)) for table in tables],
        "month": reports.month_to_date(router, now) if section == "cost" else None,
        "alerts": _open_alerts(router),
        "active": "dashboard",
    }
    template = "analytics/dashboards/dashboard.html"
    if request.htmx and request.htmx.target == "panels":
        template += "#panels"
    return render(request, template, context)


def _open_alerts(router) -> list[Alert]:
    alerts = Alert.objects.open().select_related("router")
    if router is not None:
        alerts = alerts.filter(router=router) | Alert.objects.open().filter(router__isnull=True)
    return list(alerts.order_by("-opened_at")[:50])


@login_required
@require_GET
def dashboard_csv(
    request: HttpRequest, section: str, key: str, slug: str | None = None
) -> HttpResponse:
    router = _scope(request, slug)
    if section not in SECTIONS:
        raise Http404("No such dashboard section.")
    now = timezone.now()
    span, _ = span_from(request.GET, now=now)
    table = next(
        (
            t
            for t in section_tables(section=section, router=router, span=span, now=now)
            if t.key == key
        ),
        None,
    )
    if table is None:
        raise Http404("No such chart in this section.")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"{router.slug if router else 'all'}-{key}-{span.start:%Y%m%d}-{span.end:%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    writer.writerow(table.columns)
    writer.writerows(["" if cell is None else cell for cell in row] for row in table.rows)
    return response


@login_required
@require_http_methods(["GET", "POST"])
def alerts_page(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    router = _scope(request, slug)
    alerts = Alert.objects.select_related("router").prefetch_related("deliveries")
    alerts = alerts.filter(router=router) if router is not None else alerts
    form = None
    if router is not None:
        settings_row = AlertSettings.objects.filter(router=router).first() or AlertSettings(
            router=router
        )
        form = AlertSettingsForm(request.POST or None, instance=settings_row)
        if request.method == "POST":
            require_edit(request.user)
            if form.is_valid():
                form.save()
                messages.success(request, "Alert settings saved; they apply from the next rollup.")
                return redirect("dashboards:router_alerts", slug=router.slug)
    elif request.method == "POST":
        raise Http404("Alert settings are per router.")
    context = {
        "router": router,
        "section": "alerts",
        "sections": SECTIONS,
        "open": [a for a in alerts.open().order_by("-opened_at")[:100]],
        "resolved": list(alerts.filter(resolved_at__isnull=False).order_by("-resolved_at")[:50]),
        "form": form,
        "can_edit": can_edit(request.user),
        "active": "dashboard",
    }
    return render(request, "analytics/dashboards/alerts.html", context)
