"""Dashboard pages: who may see them, unknown sections and routers, and the cost page before
the gateway answers (each test with its own database; test_pages.py shares one)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from analytics.dashboards.rollups import rollup_run
from tests.dashboards.conftest import NOW

pytestmark = pytest.mark.django_db


@pytest.fixture
def frozen_now(monkeypatch):
    from django.utils import timezone

    monkeypatch.setattr(timezone, "now", lambda: NOW)


def test_outsiders_and_anonymous_cannot_see_dashboards(client, outsider, demo_router):
    url = reverse("dashboards:router", args=[demo_router.slug])
    assert client.get(url).status_code == 302
    client.force_login(outsider)
    assert client.get(url).status_code == 403
    assert client.get(reverse("dashboards:all")).status_code == 403


def test_unknown_section_and_router_are_404(client, viewer, demo_router):
    client.force_login(viewer)
    assert (
        client.get(
            reverse("dashboards:router_section", args=[demo_router.slug, "nope"])
        ).status_code
        == 404
    )
    assert client.get(reverse("dashboards:router", args=["nope"])).status_code == 404


def test_cost_page_says_actual_is_empty_until_the_gateway_answers(
    client, viewer, demo_router, frozen_now, settings
):
    settings.SEMROUTE_DECISION_RETENTION_DAYS = 0
    from analytics.decision_log import decision_rows_write
    from tests.dashboards.conftest import decision_row

    decision_rows_write([decision_row(demo_router, NOW) for _ in range(3)])
    rollup_run(now=NOW)
    client.force_login(viewer)
    body = client.get(
        reverse("dashboards:router_section", args=[demo_router.slug, "cost"])
    ).content.decode()
    assert "none yet: no decision was answered through the gateway this month" in body
    assert "$0.0030" in body  # estimated: 3 x $0.001
