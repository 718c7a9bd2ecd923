"""Evaluations console: upload -> report -> confirm, split, add as examples, run with progress,
results, a confusion cell, apply, compare; viewers read, operators act."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from analytics.evaluations.models import EvaluationRun, LabelledSet, RunState
from analytics.evaluations.services import evaluation_run_create, labelled_set_from_examples
from routing.models import Example, Intent, RouterVersion
from tests.evaluations.conftest import DEMO_LABELLED

HX = {"HX-Request": "true"}
CSV = (
    "text,intent\n"
    + "".join(f'"{text}",{intent or ""}\n' for text, intent in DEMO_LABELLED)
    + "charged twice again,nope\n"
    + ",billing\n"
    + "why was I charged twice this month,billing\n"
)


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client


def url(name, *args):
    return reverse(f"evaluations:{name}", args=["support", *args])


def upload(client, body=CSV, filename="set.csv"):
    return client.post(
        url("set_upload"), {"file": SimpleUploadedFile(filename, body.encode()), "name": "demo set"}
    )


def test_upload_shows_the_report_before_saving_then_confirm_saves(demo_router, operator_client):
    response = upload(operator_client)
    labelled_set = LabelledSet.objects.get()
    assert response.status_code == 302 and not labelled_set.confirmed
    page = operator_client.get(url("set", labelled_set.pk)).content.decode()
    assert "3</strong> refused" in page
    for reason in ("is not one of the router", "is blank", "appeared earlier in the file"):
        assert reason in page
    assert "Save the 6 accepted rows" in page
    operator_client.post(url("set_confirm", labelled_set.pk), {"action": "confirm"})
    labelled_set.refresh_from_db()
    assert labelled_set.confirmed and labelled_set.row_count == 6


def test_discarding_an_upload_saves_nothing(demo_router, operator_client):
    upload(operator_client)
    labelled_set = LabelledSet.objects.get()
    operator_client.post(url("set_confirm", labelled_set.pk), {"action": "discard"})
    assert not LabelledSet.objects.exists()


def test_an_unreadable_file_is_a_form_error(demo_router, operator_client):
    response = upload(operator_client, body="query,label\nx,y\n")
    assert response.status_code == 422
    assert "header" in response.content.decode()
    assert not LabelledSet.objects.exists()


def test_jsonl_upload(demo_router, operator_client):
    body = '{"text": "charged twice", "intent": "billing"}\n{"text": "weather?", "intent": null}\n'
    upload(operator_client, body=body, filename="set.jsonl")
    assert set(LabelledSet.objects.get().rows.values_list("intent", flat=True)) == {"billing", None}


def test_viewer_reads_but_cannot_upload_run_or_apply(demo_set, viewer_client, committed):
    assert viewer_client.get(url("home")).status_code == 200
    assert viewer_client.get(url("set", demo_set.pk)).status_code == 200
    assert upload(viewer_client).status_code == 403
    assert viewer_client.post(url("run_create", demo_set.pk), {"version": 1}).status_code == 403
    with committed():
        run = evaluation_run_create(labelled_set=demo_set)
    assert viewer_client.get(url("run", run.pk)).status_code == 200
    assert viewer_client.post(url("run_apply", run.pk), {"threshold": 0.5}).status_code == 403
    assert viewer_client.post(url("run_cancel", run.pk)).status_code == 403


def test_outsider_gets_403_and_another_routers_run_is_404(demo_set, client, outsider, operator):
    client.force_login(outsider)
    assert client.get(url("home")).status_code == 403
    client.force_login(operator)
    from routing.services.versioning import router_create

    router_create(slug="other", name="Other")
    run = evaluation_run_create(labelled_set=demo_set, enqueue=False)
    assert client.get(reverse("evaluations:run", args=["other", run.pk])).status_code == 404


def test_split_holds_out_a_seeded_part_and_examples_skip_it(demo_set, operator_client):
    operator_client.post(url("set_split", demo_set.pk), {"held_out_percent": 50, "seed": 7})
    held = set(demo_set.rows.filter(held_out=True).values_list("text", flat=True))
    assert len(held) == 3
    operator_client.post(url("set_split", demo_set.pk), {"held_out_percent": 50, "seed": 7})
    assert set(demo_set.rows.filter(held_out=True).values_list("text", flat=True)) == held
    versions = RouterVersion.objects.count()
    operator_client.post(url("set_examples_add", demo_set.pk))
    assert RouterVersion.objects.count() == versions + 1  # one version for every intent
    router_texts = set(Example.objects.values_list("text", flat=True))
    assert not held & router_texts
    added = {text for text, intent in DEMO_LABELLED if intent and text not in held}
    assert added <= router_texts


def test_run_page_polls_while_running_and_refreshes_when_done(demo_set, operator_client):
    run = evaluation_run_create(labelled_set=demo_set, enqueue=False)
    fragment = operator_client.get(url("run", run.pk), headers=HX).content.decode()
    assert 'hx-trigger="every 1s"' in fragment and "<html" not in fragment
    assert "0</strong> of 6" in fragment
    from analytics.evaluations.services import evaluation_run_execute

    evaluation_run_execute(run_id=run.pk)
    response = operator_client.get(url("run", run.pk) + "?poll=1", headers=HX)
    assert response.headers.get("HX-Refresh") == "true"
    page = operator_client.get(url("run", run.pk)).content.decode()
    assert 'hx-trigger="every 1s"' not in page
    assert "6</strong> of 6" in page


def test_run_from_the_set_page_finishes_in_eager_mode_and_shows_results(
    demo_router, operator_client, committed
):
    # One deliberately wrong label, so the confusion heatmap has a cell to click.
    demo_set = labelled_set_from_examples(
        router=demo_router,
        examples=[*DEMO_LABELLED, ("where is my parcel, it is a week late", "refund")],
        name="demo with a wrong label",
    )
    with committed():
        response = operator_client.post(
            url("run_create", demo_set.pk), {"version": demo_router.version, "part": "all"}
        )
    run = EvaluationRun.objects.get()
    assert response.status_code == 302 and response["Location"] == url("run", run.pk)
    assert run.state == RunState.DONE
    page = operator_client.get(url("run", run.pk)).content.decode()
    for marker in (
        'id="metric-in_scope_accuracy"',
        "Confusion matrix",
        "plotly_click",
        'id="confused-pairs"',
        'id="per-intent"',
        'id="worst"',
        'id="suggestions"',
        'id="ece-before"',
        "Stages that decided",
        "Everything on the most expensive tier",
    ):
        assert marker in page, marker
    retarget = operator_client.get(url("run", run.pk), {"min_in_scope": 0.5, "weight": 0.9})
    assert "In-scope ≥ 0.500" in retarget.content.decode()


def test_cell_lists_its_queries_without_javascript(demo_set, operator_client, committed):
    with committed():
        run = evaluation_run_create(labelled_set=demo_set)
    page = operator_client.get(
        url("run_cell", run.pk), {"expected": "(out of scope)", "predicted": "(out of scope)"}
    ).content.decode()
    assert "what is the weather like in Paris tomorrow" in page
    assert "charged twice" not in page
    page = operator_client.get(
        url("run_cell", run.pk), {"expected": "billing", "predicted": "billing"}
    ).content.decode()
    assert "why was I charged twice this month" in page


def test_cancel_stops_a_run_and_the_task_then_does_nothing(demo_set, operator_client):
    from analytics.evaluations.services import evaluation_run_execute

    run = evaluation_run_create(labelled_set=demo_set, enqueue=False)
    operator_client.post(url("run_cancel", run.pk))
    run.refresh_from_db()
    assert run.state == RunState.CANCELLED and run.finished_at
    evaluation_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.state == RunState.CANCELLED and run.done == 0 and not run.results.exists()


def test_apply_writes_one_version_and_the_run_records_it(demo_set, operator_client, committed):
    with committed():
        run = evaluation_run_create(labelled_set=demo_set)
    versions = RouterVersion.objects.count()
    operator_client.post(
        url("run_apply", run.pk),
        {"threshold": 0.42, "intents": ["billing"], "intent_threshold:billing": 0.61},
    )
    assert RouterVersion.objects.count() == versions + 1
    run.refresh_from_db()
    latest = RouterVersion.objects.order_by("-number").first()
    assert run.produced_version == latest.number
    assert latest.config["policy"]["threshold"] == 0.42
    assert Intent.objects.get(name="billing").threshold == 0.61


def test_apply_refuses_a_threshold_out_of_range_and_changes_nothing(demo_set, operator_client):
    run = evaluation_run_create(labelled_set=demo_set, enqueue=False)
    from analytics.evaluations.services import evaluation_run_execute

    evaluation_run_execute(run_id=run.pk)
    versions = RouterVersion.objects.count()
    operator_client.post(url("run_apply", run.pk), {"threshold": 1.5})
    assert RouterVersion.objects.count() == versions


def test_compare_two_versions_lists_flips(demo_set, demo_router, operator_client, committed):
    with committed():
        a = evaluation_run_create(labelled_set=demo_set)
    # A stricter threshold as a new version: the weakest right answer flips to out of scope.
    from routing.services.bulk_changes import router_thresholds_update

    with committed():
        router_thresholds_update(router=demo_router, threshold=0.99)
    demo_router.refresh_from_db()
    with committed():
        b = evaluation_run_create(labelled_set=demo_set)
    assert b.version_number == a.version_number + 1
    page = operator_client.get(url("compare"), {"a": a.pk, "b": b.pk}).content.decode()
    assert 'id="metric-changes"' in page
    a.refresh_from_db()
    b.refresh_from_db()
    assert b.state == RunState.DONE, b.error
    assert b.metrics["in_scope_accuracy"] < a.metrics["in_scope_accuracy"]
    assert "why was I charged twice this month" in page.split('id="right-to-wrong"')[1]
    # And the earlier version, rebuilt from its stored document, gives run A's numbers again.
    with committed():
        again = evaluation_run_create(labelled_set=demo_set, version=a.version_number)
    again.refresh_from_db()
    a.refresh_from_db()
    assert again.metrics["in_scope_accuracy"] == a.metrics["in_scope_accuracy"]
    assert again.metrics["per_intent"] == a.metrics["per_intent"]


def test_policy_page_edits_are_evaluated_unsaved(demo_set, demo_router, operator_client, committed):
    from routing.forms import PolicyForm

    form = PolicyForm(router=demo_router)
    data = {
        name: ("" if value is None else getattr(value, "pk", value))
        for name, value in form.initial.items()
    }
    data["threshold"] = 0.99
    with committed():
        response = operator_client.post(url("policy_evaluate"), data)
    run = EvaluationRun.objects.get()
    assert response.status_code == 302
    assert run.policy_changes["threshold"] == 0.99 and run.state == RunState.DONE, run.error
    assert run.metrics["threshold"] == 0.99
    demo_router.refresh_from_db()
    assert demo_router.threshold != 0.99


def test_progress_shows_time_left_at_the_pace_so_far(demo_set, operator_client):
    from datetime import timedelta

    from django.utils import timezone

    run = evaluation_run_create(labelled_set=demo_set, enqueue=False)
    EvaluationRun.objects.filter(pk=run.pk).update(
        state=RunState.RUNNING, done=3, started_at=timezone.now() - timedelta(seconds=30)
    )
    fragment = operator_client.get(url("run", run.pk) + "?poll=1", headers=HX).content.decode()
    assert 'id="time-left"' in fragment and "about 30 s left" in fragment
    assert 'hx-trigger="every 1s"' in fragment


def test_policy_page_offers_evaluate_these_edits_to_operators(
    demo_router, client, operator, viewer
):
    policy = reverse("console:policy", args=["support"])
    client.force_login(operator)
    assert url("policy_evaluate") in client.get(policy).content.decode()
    client.force_login(viewer)
    assert url("policy_evaluate") not in client.get(policy).content.decode()


def test_policy_evaluate_without_a_set_says_what_to_do(demo_router, operator_client):
    response = operator_client.post(url("policy_evaluate"), {"threshold": 0.5}, follow=True)
    assert "Upload and confirm a labelled set first." in response.content.decode()
    assert not EvaluationRun.objects.exists()
