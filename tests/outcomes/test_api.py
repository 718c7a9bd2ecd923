"""POST /api/v1/routers/{slug}/outcomes and GET /api/v1/quality-trainings/{id}, end to end."""

from __future__ import annotations

from analytics.outcomes.models import Outcome
from tests.api.conftest import error_of
from tests.outcomes.conftest import BEST, CHEAP, EASY, HARD

ROWS = [
    {"query": "where is my parcel", "tier": CHEAP, "good": True},
    {"query": "prove the theorem", "tier": BEST, "score": 0.75},
]


def test_post_imports_and_answers_the_count(demo_router, client_for):
    client = client_for(scopes=["feedback"])
    response = client.post("routers/support/outcomes", {"outcomes": ROWS})
    assert response.status_code == 201, response.content
    assert response.json() == {"imported": 2, "outcomes_total": 2, "training": None}
    assert sorted(Outcome.objects.values_list("tier", "score", "good", "source")) == [
        (BEST, 0.75, None, "api"),
        (CHEAP, 1.0, True, "api"),
    ]


def test_one_refused_outcome_refuses_the_call_and_lists_it(demo_router, api):
    rows = [*ROWS, {"query": "q", "tier": "gpt-9", "good": True}, {"query": "q", "tier": CHEAP}]
    response = api.post("routers/support/outcomes", {"outcomes": rows})
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "outcomes_refused"
    assert [(row["index"], row["kind"]) for row in error["details"]["rows"]] == [
        (2, "unknown_tier"),
        (3, "bad_value"),
    ]
    assert not Outcome.objects.exists()


def test_shape_errors_name_the_field(demo_router, api):
    response = api.post("routers/support/outcomes", {"outcomes": [{"query": "q", "good": True}]})
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert "outcomes.0.tier" in str(error["details"])
    malformed = api.post("routers/support/outcomes", raw="{not json")
    assert malformed.status_code == 400 and error_of(malformed)["message"].startswith(
        "The body is not valid JSON"
    )


def test_more_than_10000_outcomes_in_one_call_is_413(demo_router, api):
    rows = [{"query": f"q{i}", "tier": CHEAP, "good": True} for i in range(10_001)]
    response = api.post("routers/support/outcomes", {"outcomes": rows})
    assert response.status_code == 413
    assert error_of(response)["details"] == {"max_outcomes": 10_000}
    assert not Outcome.objects.exists()


def test_permissions_scope_key_and_router(demo_router, client_for, make_key):
    from routing.models import Router

    other = Router.objects.create(slug="other", name="Other")
    assert (
        client_for(scopes=["route"])
        .post("routers/support/outcomes", {"outcomes": ROWS})
        .status_code
        == 403
    )
    assert (
        client_for(scopes=["feedback"], routers=[other])
        .post("routers/support/outcomes", {"outcomes": ROWS})
        .status_code
        == 403
    )
    assert client_for().post("routers/nope/outcomes", {"outcomes": ROWS}).status_code == 404
    from tests.api.conftest import APIClient

    assert APIClient().post("routers/support/outcomes", {"outcomes": ROWS}).status_code == 401
    assert not Outcome.objects.exists()


def test_train_true_fits_and_the_training_can_be_read(demo_router, client_for, committed):
    client = client_for(scopes=["feedback"])
    rows = [
        {"query": query, "tier": tier, "good": query in EASY or tier == BEST}
        for query in EASY + HARD
        for tier in (CHEAP, BEST)
    ]
    with committed():
        response = client.post("routers/support/outcomes", {"outcomes": rows, "train": True})
    assert response.status_code == 201, response.content
    training_id = response.json()["training"]
    body = client.get(f"quality-trainings/{training_id}").json()
    assert body["state"] == "done", body
    assert body["metrics"]["tiers"][CHEAP]["auc"] == 1.0
    assert client.get("quality-trainings/999999").status_code == 404
