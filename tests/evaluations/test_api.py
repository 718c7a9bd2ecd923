"""The evaluations API end to end: scope, start, the documented result shape, errors."""

from __future__ import annotations

import pytest

from analytics.evaluations.models import EvaluationRun, LabelledSet
from tests.api.conftest import error_of
from tests.evaluations.conftest import DEMO_LABELLED

EXAMPLES = [{"text": text, "intent": intent} for text, intent in DEMO_LABELLED]


def test_post_examples_runs_and_get_answers_the_documented_shape(
    demo_router, client_for, committed
):
    client = client_for(scopes=["evaluate"])
    with committed():
        response = client.post("routers/support/evaluations", {"examples": EXAMPLES})
    assert response.status_code == 202, response.content  # queued: the task starts on commit
    started = response.json()
    assert set(started) == {"id", "status"}
    body = client.get(f"evaluations/{started['id']}").json()
    assert body["status"] == "done"
    assert body["progress"] == {"done": 6, "total": 6}
    metrics = body["metrics"]
    assert {
        "in_scope_accuracy",
        "oos_recall",
        "oos_precision",
        "top1_accuracy",
        "per_intent",
    } <= set(metrics)
    assert metrics["in_scope_accuracy"] == 1.0 and metrics["oos_recall"] == 1.0
    assert metrics["per_intent"]["billing"]["support"] == 1
    assert set(body["suggestions"]) == {"threshold", "per_intent_thresholds"}
    assert body["version"] == demo_router.version


def test_post_a_stored_set_and_an_earlier_version(demo_set, demo_router, api, committed):
    with committed():
        response = api.post(
            "routers/support/evaluations", {"set": demo_set.pk, "version": demo_router.version}
        )
    assert response.status_code == 202
    run = EvaluationRun.objects.get(pk=response.json()["id"])
    assert run.labelled_set_id == demo_set.pk and run.state == "done"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 422, "validation_error"),
        ({"examples": EXAMPLES, "set": 1}, 422, "validation_error"),
        ({"examples": [{"text": "charged twice", "intent": "nope"}]}, 422, "labelled_set_refused"),
        ({"examples": [{"text": "a\u0000b", "intent": "billing"}]}, 422, "labelled_set_refused"),
        ({"examples": [{"text": "x" * 2001, "intent": "billing"}]}, 422, "labelled_set_refused"),
        ({"examples": []}, 422, "invalid"),
        ({"examples": EXAMPLES, "version": 999}, 404, "not_found"),
        ({"set": 424242}, 404, "not_found"),
        ({"examples": EXAMPLES, "version": 2**40}, 422, "validation_error"),
        ({"examples": EXAMPLES, "part": "train"}, 422, "validation_error"),
    ],
)
def test_bad_requests_answer_the_error_shape_and_save_nothing(demo_router, api, body, status, code):
    response = api.post("routers/support/evaluations", body)
    assert response.status_code == status, response.content
    assert error_of(response)["code"] == code
    assert not EvaluationRun.objects.exists()
    assert not LabelledSet.objects.exists()


def test_refused_rows_are_listed_by_index(demo_router, api):
    examples = EXAMPLES + [{"text": "charged twice", "intent": "nope"}]
    error = error_of(api.post("routers/support/evaluations", {"examples": examples}))
    assert error["details"]["rows"][0]["line"] == len(EXAMPLES)
    assert error["details"]["by_kind"] == {"unknown_intent": 1}


def test_scope_evaluate_is_required(demo_router, client_for):
    client = client_for(scopes=["route", "config:read"])
    response = client.post("routers/support/evaluations", {"examples": EXAMPLES})
    assert response.status_code == 403
    assert error_of(response)["details"]["required_scope"] == "evaluate"


def test_a_key_limited_to_another_router_sees_neither_router_nor_run(
    demo_router, demo_set, client_for, api
):
    from routing.services.versioning import router_create

    other = router_create(slug="other", name="Other")
    limited = client_for(scopes=["evaluate"], routers=[other])
    assert limited.post("routers/support/evaluations", {"examples": EXAMPLES}).status_code == 403
    run_id = api.post("routers/support/evaluations", {"set": demo_set.pk}).json()["id"]
    response = limited.get(f"evaluations/{run_id}")
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"


@pytest.mark.parametrize("path", ["evaluations/0", "evaluations/99999", f"evaluations/{2**70}"])
def test_unknown_runs_are_clean_errors(db, api, path):
    response = api.get(path)
    assert response.status_code in (404, 422)
    error_of(response)


def test_no_key_is_401(db):
    from django.test import Client

    response = Client().get("/api/v1/evaluations/1")
    assert response.status_code == 401


def upload_set(api, body: str, content_type: str = "text/csv", query: str = ""):
    return api.client.post(
        f"/api/v1/routers/support/sets{query}",
        body.encode(),
        content_type=content_type,
        headers={"X-API-Key": api.key},
    )


CSV_BODY = "text,intent\nwhy was I charged twice,billing\nthe weather in Rome,oos\n"


def test_upload_a_csv_set_then_evaluate_it_by_id(demo_router, api, committed):
    response = upload_set(api, CSV_BODY, query="?name=nightly")
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["rows"] == 2 and created["name"] == "nightly"
    assert api.get("routers/support/sets").json()[0]["id"] == created["id"]
    with committed():
        run_id = api.post("routers/support/evaluations", {"set": created["id"]}).json()["id"]
    assert api.get(f"evaluations/{run_id}").json()["status"] == "done"


def test_upload_jsonl_dry_run_reports_and_saves_nothing(demo_router, api):
    body = '{"text": "charged twice", "intent": "billing"}\n{"text": "x", "intent": "nope"}\n'
    response = upload_set(api, body, content_type="application/x-ndjson", query="?dry_run=true")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] is None and body["dry_run"] and body["rows"] == 1
    assert body["report"]["by_kind"] == {"unknown_intent": 1}
    assert not LabelledSet.objects.exists()


def test_upload_with_refusals_saves_nothing_unless_partial_is_accepted(demo_router, api):
    body = CSV_BODY + "hello,nope\n"
    response = upload_set(api, body)
    assert response.status_code == 422
    assert error_of(response)["details"]["rows"][0]["line"] == 4
    assert not LabelledSet.objects.exists()
    response = upload_set(api, body, query="?accept_partial=true")
    assert response.status_code == 201 and response.json()["rows"] == 2


@pytest.mark.parametrize(
    ("body", "status"),
    [("query,label\nx,y\n", 422), ("", 422), ("text,intent\n\n", 422)],
)
def test_unusable_uploads_are_clean_errors(demo_router, api, body, status):
    response = upload_set(api, body)
    assert response.status_code == status
    error_of(response)
    assert not LabelledSet.objects.exists()


def test_upload_over_the_limit_is_413(demo_router, api, monkeypatch):
    from analytics.evaluations import api as evaluations_api

    monkeypatch.setattr(evaluations_api, "MAX_SET_BYTES", 10)
    monkeypatch.setattr(evaluations_api._body_read, "__defaults__", (10,))
    response = upload_set(api, CSV_BODY)
    assert response.status_code == 413 and error_of(response)["code"] == "request_too_large"
