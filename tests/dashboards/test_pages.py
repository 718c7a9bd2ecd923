"""Dashboard pages over 20 days of rolled-up traffic: plain and with HX-Request, CSV per chart,
the time range. The traffic is generated and rolled up once for the module (tests only read it;
see shared_database); tests/dashboards/test_page_access.py has the pages' other cases."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import override_settings
from django.urls import reverse

from analytics.dashboards.rollups import rollup_run
from analytics.dashboards.timespan import span_from
from tests.dashboards.conftest import NOW, generated_traffic, shared_cast, shared_database

pytestmark = pytest.mark.django_db

SECTIONS = ("traffic", "cost", "latency", "quality", "drift")


@pytest.fixture(scope="module")
def shared(django_db_setup, django_db_blocker):
    with shared_database(django_db_blocker):
        cast = shared_cast()
        with override_settings(SEMROUTE_DECISION_RETENTION_DAYS=0):
            cast["rolled"] = generated_traffic(cast["demo_router"], count=400, days=20)
            rollup_run(now=NOW)
        yield cast


# The conftest cast, replaced by the module's (the same router and users, made once).
@pytest.fixture
def demo_router(shared):
    return shared["demo_router"]


@pytest.fixture
def operator(shared):
    return shared["operator"]


@pytest.fixture
def viewer(shared):
    return shared["viewer"]


@pytest.fixture
def rolled(shared):
    return shared["rolled"]


@pytest.fixture
def frozen_now(monkeypatch):
    from django.utils import timezone

    monkeypatch.setattr(timezone, "now", lambda: NOW)


@pytest.mark.parametrize("section", SECTIONS)
def test_each_section_renders_plain_and_as_a_fragment(
    client, operator, demo_router, rolled, frozen_now, section
):
    client.force_login(operator)
    url = reverse("dashboards:router_section", args=[demo_router.slug, section]) + "?range=30d"
    page = client.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert "<html" in body and 'id="panels"' in body and "Plotly.newPlot" in body
    assert "Download CSV" in body and "<summary>Table</summary>" in body
    fragment = client.get(url, headers={"HX-Request": "true", "HX-Target": "panels"})
    assert fragment.status_code == 200
    text = fragment.content.decode()
    assert "<html" not in text and text.lstrip().startswith('<div id="panels">')


def test_across_routers_lists_each_router(client, viewer, demo_router, rolled, frozen_now):
    client.force_login(viewer)
    page = client.get(reverse("dashboards:all") + "?range=30d")
    assert page.status_code == 200
    assert f"<td>{demo_router.slug}</td>" in page.content.decode()


def test_csv_has_the_tables_rows(client, viewer, demo_router, rolled, frozen_now):
    client.force_login(viewer)
    url = reverse("dashboards:router_csv", args=[demo_router.slug, "traffic", "traffic_tier"])
    response = client.get(url + "?range=30d&bucket=day")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["time", "tier", "decisions", "share %"]
    counted = sum(int(row[2]) for row in rows[1:])
    expected = sum(
        1
        for r in rolled
        if r.channel not in ("playground", "console")
        and r.created_at >= span_from({"range": "30d"}, now=NOW)[0].start
    )
    assert counted == expected
    assert client.get(url.replace("traffic_tier", "nope")).status_code == 404


def test_console_channels_are_excluded_unless_asked(
    client, viewer, demo_router, rolled, frozen_now
):
    client.force_login(viewer)
    url = reverse("dashboards:router_csv", args=[demo_router.slug, "traffic", "traffic_tier"])
    without = list(csv.reader(io.StringIO(client.get(url + "?range=30d").content.decode())))[1:]
    with_console = list(
        csv.reader(io.StringIO(client.get(url + "?range=30d&console=1").content.decode()))
    )[1:]
    playground = sum(1 for r in rolled if r.channel == "playground")
    assert sum(int(r[2]) for r in with_console) - sum(int(r[2]) for r in without) == playground


def test_a_bad_range_says_so_and_shows_seven_days(client, viewer, demo_router, rolled, frozen_now):
    client.force_login(viewer)
    url = reverse("dashboards:router_section", args=[demo_router.slug, "traffic"])
    page = client.get(url + "?range=custom&from=2026-03-20&to=2026-03-01")
    assert page.status_code == 200
    assert "To is before from; showing the last 7 days." in page.content.decode()


def test_the_rollup_task_warms_what_the_pages_then_read(
    client, viewer, demo_router, rolled, frozen_now
):
    from django.core.cache import cache

    from analytics.dashboards import sections

    assert sections.sections_warm(now=NOW) == 2 * 2 * 5  # (all routers, support) x (7d, 30d) x 5
    calls = []
    real = sections._computed
    sections._computed = lambda *args: calls.append(args) or real(*args)
    try:
        client.force_login(viewer)
        url = reverse("dashboards:router_section", args=[demo_router.slug, "latency"])
        assert client.get(url + "?range=30d").status_code == 200
        assert calls == []  # served from the warmed cache
        cache.clear()
        assert client.get(url + "?range=30d").status_code == 200
        assert len(calls) == 1
    finally:
        sections._computed = real
