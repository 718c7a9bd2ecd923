"""Outcomes console: who may see and change what, the import with RouteLLM's shape, the fit's
progress page, the curve at a target, and the policy field in the console and config document."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from analytics.outcomes.models import Outcome, QualityTraining
from analytics.outcomes.services import outcomes_import, quality_training_start
from routing.config_io import router_config_export
from routing.models import Router
from tests.outcomes.conftest import BEST, CHEAP, EASY, HARD, known_outcomes


def _routellm_file() -> SimpleUploadedFile:
    lines = ["benchmark,subset,prompt,mixtral_8x7b_correct,gpt4_1106_correct"]
    lines += [f'chat,,"{query}",{int(query in EASY)},1' for query in EASY + HARD]
    return SimpleUploadedFile("routellm.csv", "\n".join(lines).encode(), "text/csv")


def test_viewer_reads_but_cannot_import_and_an_outsider_sees_nothing(
    demo_router, viewer_client, client, outsider
):
    page = viewer_client.get("/r/support/outcomes/")
    assert page.status_code == 200
    assert 'id="upload-form"' not in page.text
    refused = viewer_client.post(
        "/r/support/outcomes/upload/", {"file": _routellm_file(), "cheap_tier": CHEAP}
    )
    assert refused.status_code == 403
    assert (
        viewer_client.post("/r/support/outcomes/train/", {"method": "logistic"}).status_code == 403
    )
    client.force_login(outsider)
    assert client.get("/r/support/outcomes/").status_code == 403
    assert not Outcome.objects.exists()


def test_operator_imports_routellm_csv_fits_and_sees_the_curve(
    demo_router, operator_client, committed
):
    with committed():
        response = operator_client.post(
            "/r/support/outcomes/upload/",
            {"file": _routellm_file(), "cheap_tier": CHEAP, "strong_tier": BEST, "train": "on"},
        )
    training = QualityTraining.objects.get()
    assert response.status_code == 302
    assert response.url == f"/r/support/outcomes/trainings/{training.pk}/"
    assert (
        Outcome.objects.filter(tier=CHEAP).count()
        == Outcome.objects.filter(tier=BEST).count()
        == 80
    )
    page = operator_client.get(response.url)
    assert '<span class="badge ok" id="training-state">done</span>' in page.text
    assert "Imported 160 outcomes (RouteLLM&#x27;s shape: two per prompt)." in page.text
    assert 'hx-trigger="every 1s"' not in page.text  # finished: no more polling
    fragment = operator_client.get(response.url, headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<section class="card" id="progress"')

    home = operator_client.get("/r/support/outcomes/?target=1.0")
    assert 'id="operating-gpt-4o-mini"' in home.text
    assert "plotly" in home.text.lower()
    curve = operator_client.get("/r/support/outcomes/?target=1.0", headers={"HX-Request": "true"})
    assert curve.text.lstrip().startswith('<section class="card" id="curve">')


def test_import_refusals_and_unmapped_routellm_columns(demo_router, operator_client):
    unmapped = operator_client.post(
        "/r/support/outcomes/upload/", {"file": _routellm_file(), "cheap_tier": CHEAP}
    )
    assert unmapped.status_code == 422
    assert "choose the tier of the first (cheap) column" in unmapped.text
    bad = SimpleUploadedFile(
        "o.csv", b"query,tier,good\nok,gpt-4o-mini,1\n,gpt-4o-mini,1\nq,gpt-9,1\n", "text/csv"
    )
    response = operator_client.post("/r/support/outcomes/upload/", {"file": bad}, follow=True)
    assert (
        "Imported 1 outcomes; refused 2: the query is blank (1), the tier is not one of the "
        "router&#x27;s (1); first lines: 3, 4." in response.text
    )
    assert Outcome.objects.count() == 1


def test_failed_fit_shows_its_reason(demo_router, operator_client, committed):
    with committed():
        training = quality_training_start(router=demo_router)
    page = operator_client.get(f"/r/support/outcomes/trainings/{training.pk}/")
    assert 'id="training-error">Not enough outcomes to fit any tier' in page.text


def test_quality_target_in_the_policy_form_and_the_config_document(
    demo_router, operator_client, committed
):
    page = operator_client.get("/r/support/policy/")
    assert 'name="quality_target"' in page.text
    response = operator_client.post(
        "/r/support/policy/", {"action": "save", "quality_target": "0.95"}
    )
    assert response.status_code in (200, 302), response.content[:500]
    router = Router.objects.get(pk=demo_router.pk)
    assert router.quality_target == 0.95
    assert router_config_export(router)["policy"]["quality_target"] == 0.95
    refused = operator_client.post(
        "/r/support/policy/", {"action": "save", "quality_target": "1.5"}
    )
    assert "Ensure this value is less than or equal to 1.0." in refused.text
    assert Router.objects.get(pk=demo_router.pk).quality_target == 0.95


def test_remove_head_returns_to_the_complexity_floors(demo_router, operator_client, committed):
    outcomes_import(router=demo_router, rows=known_outcomes())
    with committed():
        quality_training_start(router=demo_router)
    assert "No quality head yet" not in operator_client.get("/r/support/outcomes/").text
    response = operator_client.post("/r/support/outcomes/head/remove/", follow=True)
    assert "Removed 1 fitted head(s)" in response.text
    assert "No quality head yet" in response.text
