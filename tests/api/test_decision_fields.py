"""One list of a decision's public fields: each reaches the route API, the log row and the log API."""

from dataclasses import fields

import pytest

from analytics.decision_log import decision_log
from analytics.models import DecisionLog
from analytics.schemas import DecisionLogOut
from routing.engine.decision import Decision, IntentScore, NearestExample, StageTiming, Trace
from routing.schemas import (
    DECISION_PUBLIC_FIELDS,
    DecisionOut,
    IntentScoreOut,
    NearestExampleOut,
    StageTimingOut,
    TraceOut,
)

DECISION_FIELDS = {item.name for item in fields(Decision)} - {"trace"}


def test_every_public_decision_field_is_in_the_one_list():
    assert set(DECISION_PUBLIC_FIELDS) == DECISION_FIELDS


def test_both_outs_and_the_log_row_carry_every_public_field():
    columns = {field.name for field in DecisionLog._meta.concrete_fields}
    assert DECISION_FIELDS <= set(DecisionOut.model_fields)
    assert DECISION_FIELDS <= set(DecisionLogOut.model_fields)
    assert DECISION_FIELDS <= columns
    assert {"policy_digest", "experiment_arm"} <= columns


@pytest.mark.parametrize(
    ("dataclass", "schema"),
    [
        (Trace, TraceOut),
        (StageTiming, StageTimingOut),
        (IntentScore, IntentScoreOut),
        (NearestExample, NearestExampleOut),
    ],
)
def test_trace_schemas_drop_no_field(dataclass, schema):
    assert {item.name for item in fields(dataclass)} == set(schema.model_fields)


@pytest.mark.django_db
def test_a_decision_reaches_the_api_and_the_log_with_every_field(api, demo_router):
    response = api.post(
        f"routers/{demo_router.slug}/route",
        {"query": "I want my money back for order 1234", "explain": True},
    )
    assert response.status_code == 200, response.content
    routed = response.json()
    assert DECISION_FIELDS <= set(routed)
    trace_fields = {item.name for item in fields(Trace)}
    assert set(routed["trace"]) == trace_fields
    assert routed["trace"]["similarity"] is not None  # the embedding stage ran
    assert routed["trace"]["similarity_floor"] is not None

    decision_log.flush()
    row = DecisionLog.objects.get(pk=routed["decision_id"])
    assert row.experiment_arm == ""
    logged = api.get(f"decisions/{routed['decision_id']}").json()
    for name in DECISION_FIELDS:
        assert logged[name] == routed[name] == getattr(row, name), name
    assert set(logged["trace"]) == trace_fields
    assert logged["trace"]["similarity"] == routed["trace"]["similarity"]
    assert logged["experiment_arm"] == ""
    listed = api.get("decisions").json()["items"][0]
    assert {name: listed[name] for name in DECISION_FIELDS} == {
        name: routed[name] for name in DECISION_FIELDS
    }


@pytest.mark.django_db
def test_the_log_keeps_the_strategy_that_decided(api, demo_router):
    from analytics.services import decision_record
    from routing.decide import decide

    decision = decide(router=demo_router, query="where is my parcel")
    decision.policy_digest = "p0l1cy"  # the engine fills it in; the log must keep what it says
    decision_id = decision_record(
        router=demo_router,
        query="where is my parcel",
        decision=decision,
        principal=None,
        experiment_arm="treatment",
    )
    decision_log.flush()
    logged = api.get(f"decisions/{decision_id}").json()
    assert (logged["router_version"], logged["policy_digest"], logged["experiment_arm"]) == (
        demo_router.version,
        "p0l1cy",
        "treatment",
    )
