"""The experiments console: every page plain and as an htmx fragment, forms without JavaScript,
operators change and viewers only read."""

from __future__ import annotations

import uuid

import pytest

from analytics.experiments.models import Experiment, JudgeSettings, JudgeVerdict, ShadowTest
from analytics.experiments.services import experiment_create
from analytics.experiments.shadow import shadow_create

ARM_FORM = {
    "name": "knn vs linear",
    "control_percent": "5",
    "sticky_by": "user_id",
    "start": "on",
    "arm0_name": "current",
    "arm0_weight": "1",
    "arm1_name": "knn",
    "arm1_policy": '{"method": "knn"}',
    "arm1_weight": "1",
    "arm2_name": "",
}


def _url(router, tail: str = "") -> str:
    return f"/r/{router.slug}/experiments/{tail}"


@pytest.fixture
def experiment(demo_router):
    return experiment_create(
        router=demo_router,
        name="running one",
        arms=[{"name": "current", "weight": 1}, {"name": "knn", "policy": {"method": "knn"}}],
    )


def test_home_lists_experiments_and_shadow_tests(viewer_client, demo_router, experiment):
    shadow_create(router=demo_router, name="shadowed")
    page = viewer_client.get(_url(demo_router))
    assert page.status_code == 200
    html = page.content.decode()
    assert "running one" in html and "shadowed" in html
    assert "Only operators create experiments." in html
    assert 'href="/r/support/experiments/"' in html  # the router's tab


def test_operator_creates_an_experiment_with_a_plain_form(operator_client, demo_router):
    response = operator_client.post(_url(demo_router, "new/"), ARM_FORM)
    experiment = Experiment.objects.get()
    assert response.status_code == 302
    assert response.url == _url(demo_router, f"{experiment.pk}/")
    assert experiment.status == "running"
    assert [arm.name for arm in experiment.arms.all()] == ["current", "knn", "control"]
    assert experiment.arms.get(name="knn").policy == {"method": "knn"}


def test_the_new_experiment_and_shadow_forms_start_with_empty_policy_changes(
    operator_client, demo_router
):
    page = operator_client.get(_url(demo_router, "")).content.decode()
    assert page.count('name="arm0_policy"') == 1
    assert ">null</textarea>" not in page  # an empty field, not the JSON of None
    assert ">\n</textarea>" in page


def test_a_refused_experiment_shows_what_to_fix(operator_client, demo_router):
    form = {**ARM_FORM, "arm1_policy": '{"method": "magic"}'}
    response = operator_client.post(_url(demo_router, "new/"), form)
    assert response.status_code == 422
    assert "arms.1: policy method" in response.content.decode()
    form = {**ARM_FORM, "arm1_policy": "[1, 2]"}
    response = operator_client.post(_url(demo_router, "new/"), form)
    assert "Policy changes must be a JSON object" in response.content.decode()
    assert Experiment.objects.count() == 0


def test_viewers_cannot_change_experiments(viewer_client, demo_router, experiment):
    assert viewer_client.post(_url(demo_router, "new/"), ARM_FORM).status_code == 403
    stop = viewer_client.post(_url(demo_router, f"{experiment.pk}/stop/"))
    assert stop.status_code == 403
    experiment.refresh_from_db()
    assert experiment.status == "running"


def test_detail_page_and_its_results_fragment(operator_client, demo_router, experiment):
    page = operator_client.get(_url(demo_router, f"{experiment.pk}/"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "<html" in html and 'id="arm-results"' in html
    assert "Welch&#x27;s t test (two-sided)" in html or "Welch's t test (two-sided)" in html
    fragment = operator_client.get(_url(demo_router, f"{experiment.pk}/"), HTTP_HX_REQUEST="true")
    body = fragment.content.decode()
    assert "<html" not in body and body.lstrip().startswith('<section class="card" id="results"')


def test_pause_resume_stop_weights_and_promote_from_the_page(
    operator_client, demo_router, experiment
):
    base = _url(demo_router, f"{experiment.pk}/")
    operator_client.post(base + "pause/")
    experiment.refresh_from_db()
    assert experiment.status == "paused"
    operator_client.post(base + "start/")
    experiment.refresh_from_db()
    assert experiment.status == "running"
    operator_client.post(
        base + "weights/", {"control_percent": "10", "weight_current": "3", "weight_knn": "1"}
    )
    experiment.refresh_from_db()
    assert experiment.control_percent == 10
    assert experiment.allocation[-1] == [9000, 10000, "control"]
    response = operator_client.post(base + "promote/", {"arm": "knn"}, follow=True)
    assert "is now the configuration" in response.content.decode()
    demo_router.refresh_from_db()
    assert demo_router.method == "knn"
    assert operator_client.post(base + "nonsense/").status_code == 404


def test_shadow_page_start_and_promote(operator_client, demo_router):
    response = operator_client.post(
        _url(demo_router, "shadow/"),
        {"name": "strict", "policy": '{"threshold": 0.9}', "sample_percent": "20"},
    )
    shadow = ShadowTest.objects.get()
    assert response.url == _url(demo_router, f"shadow/{shadow.pk}/")
    page = operator_client.get(response.url)
    assert 'id="shadow-summary"' in page.content.decode()
    operator_client.post(_url(demo_router, f"shadow/{shadow.pk}/end/"), {"promote": "1"})
    shadow.refresh_from_db()
    demo_router.refresh_from_db()
    assert (shadow.status, demo_router.threshold) == ("promoted", 0.9)


def test_judge_page_and_settings(operator_client, demo_router):
    JudgeVerdict.objects.create(
        router=demo_router,
        decision_id=uuid.uuid4(),
        query="where is my parcel",
        tier="gpt-4o-mini",
        intent="shipping",
        answer="On its way.",
        state="done",
        verdict="same",
        preferred_position="same",
    )
    page = operator_client.get(_url(demo_router, "judge/"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "where is my parcel" in html and 'id="by-intent-tier"' in html
    assert "You are an impartial judge" in html
    saved = operator_client.post(
        _url(demo_router, "judge/settings/"),
        {"enabled": "on", "sample_percent": "5", "judge_tier": "gpt-4o", "daily_budget_usd": "2.5"},
    )
    assert saved.status_code == 302
    settings = JudgeSettings.objects.get(router=demo_router)
    assert (settings.sample_percent, settings.judge_tier, settings.daily_budget_usd) == (
        5,
        "gpt-4o",
        2.5,
    )
    bad = operator_client.post(
        _url(demo_router, "judge/settings/"),
        {"sample_percent": "500", "judge_tier": "nope", "daily_budget_usd": "1"},
    )
    assert bad.status_code == 422
