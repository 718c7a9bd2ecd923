"""Alert settings page (operators edit, viewers read), open alerts on the console, the rollup command."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from analytics.alerts.models import Alert, AlertKind, AlertSettings
from analytics.dashboards.models import HourlyTierRollup
from analytics.decision_log import decision_rows_write
from tests.dashboards.conftest import decision_row

pytestmark = pytest.mark.django_db


def _settings_form(**overrides) -> dict:
    form = {
        "escalation_rise_points": "3",
        "thumbs_down_bar": "0.2",
        "drift_threshold": "0.15",
        "monthly_budget_usd": "250",
        "webhook_url": "https://hooks.example.com/semroute",
        "webhook_secret": "topsecret",
    }
    form.update(overrides)
    return form


def test_an_operator_saves_the_alert_settings(client, operator, demo_router):
    client.force_login(operator)
    url = reverse("dashboards:router_alerts", args=[demo_router.slug])
    assert client.get(url).status_code == 200
    response = client.post(url, _settings_form())
    assert response.status_code == 302
    saved = AlertSettings.objects.get(router=demo_router)
    assert (saved.escalation_rise_points, saved.monthly_budget_usd, saved.webhook_secret) == (
        3.0,
        250.0,
        "topsecret",
    )


def test_bad_settings_are_refused_with_a_reason(client, operator, demo_router):
    client.force_login(operator)
    url = reverse("dashboards:router_alerts", args=[demo_router.slug])
    response = client.post(url, _settings_form(thumbs_down_bar="5", webhook_secret=""))
    assert response.status_code == 200
    body = response.content.decode()
    assert "A fraction above 0 and at most 1 (0.10 is 10%)." in body
    assert "A webhook needs a secret to sign its requests." in body
    assert not AlertSettings.objects.exists()


def test_viewers_read_the_alerts_but_cannot_change_settings(client, viewer, demo_router):
    client.force_login(viewer)
    url = reverse("dashboards:router_alerts", args=[demo_router.slug])
    assert "Only operators change alert settings." in client.get(url).content.decode()
    assert client.post(url, _settings_form()).status_code == 403
    assert not AlertSettings.objects.exists()


def test_open_alerts_show_on_the_router_tabs_the_top_bar_and_the_dashboard(
    client, viewer, demo_router
):
    now = timezone.now()
    Alert.objects.create(
        router=demo_router,
        kind=AlertKind.BUDGET,
        value=12,
        threshold=10,
        message="December 2026: $12.00 spent",
        opened_at=now,
        last_seen_at=now,
    )
    client.force_login(viewer)
    intents_page = client.get(reverse("console:router", args=[demo_router.slug])).content.decode()
    assert 'title="this router has open alerts"' in intents_page
    assert 'title="open alerts">1</span>' in intents_page
    dashboard = client.get(reverse("dashboards:router", args=[demo_router.slug])).content.decode()
    assert "December 2026: $12.00 spent" in dashboard


def test_rollup_command_rolls_and_reports(demo_router, settings):
    settings.SEMROUTE_DECISION_RETENTION_DAYS = 0
    decision_rows_write([decision_row(demo_router, timezone.now() - timedelta(days=3))])
    call_command("rollup", since="7d", router=demo_router.slug, no_alerts=True)
    assert sum(HourlyTierRollup.objects.values_list("decisions", flat=True)) == 1
    with pytest.raises(CommandError, match="No router 'nope'"):
        call_command("rollup", router="nope")
    with pytest.raises(CommandError, match="use an ISO date"):
        call_command("rollup", since="yesterday")
