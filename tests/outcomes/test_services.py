"""Outcome services on the real database: record, collect from the decision log, fit, route."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone

from analytics.models import DecisionLog, Feedback
from analytics.outcomes.models import Outcome, QualityTraining
from analytics.outcomes.services import (
    OutcomeRefused,
    outcome_record,
    outcomes_collect,
    outcomes_import,
    quality_training_start,
)
from routing.decide import decide
from routing.models import FittedQualityHead, Router
from routing.services.quality_heads import quality_head_remove
from routing.services.versioning import router_policy_update
from tests.outcomes.conftest import BEST, CHEAP, MIDDLE, known_outcomes

EASY_QUERY = "thank you so much, that was really helpful, have a nice day"
HARD_QUERY = "prove that the sequence b_n = 3 n^2 + 7 converges, with every step"


def test_outcome_record_creates_and_upserts_by_decision(demo_router):
    first = outcome_record(router=demo_router, query="hi", tier=CHEAP, good=True, source="judge")
    assert (first.score, first.good, first.source) == (1.0, True, "judge")
    decision_id = uuid.uuid4()
    outcome_record(
        router=demo_router,
        query="q",
        tier=CHEAP,
        score=0.4,
        source="review",
        decision_id=decision_id,
    )
    again = outcome_record(
        router=demo_router,
        query="q",
        tier=CHEAP,
        score=0.9,
        source="review",
        decision_id=decision_id,
    )
    assert Outcome.objects.filter(decision_id=decision_id).count() == 1
    assert (again.score, again.good) == (0.9, None)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"tier": "gpt-9"}, "the tier is not one of the router's"),
        ({"good": None}, "good must be true/false"),
        ({"query": "  "}, "the query is blank"),
        ({"source": "rumour"}, "Unknown source 'rumour'"),
    ],
)
def test_outcome_record_refuses_what_it_cannot_store(demo_router, changes, message):
    values = {"query": "q", "tier": CHEAP, "good": True, "source": "judge", **changes}
    with pytest.raises(OutcomeRefused, match=message):
        outcome_record(router=demo_router, **values)


def _decision(router, **fields) -> DecisionLog:
    values = dict(
        router=router,
        router_version=router.version,
        query="where is my parcel",
        confidence=0.9,
        stage="embedding",
        complexity="simple",
        tier=CHEAP,
        latency_ms=1.0,
        created_at=timezone.now(),
    )
    return DecisionLog.objects.create(**{**values, **fields})


def test_collect_turns_thumbs_escalations_and_reasks_into_outcomes(demo_router, operator):
    liked = _decision(demo_router, query="liked")
    Feedback.objects.create(decision_id=liked.id, rating="up", user=operator)
    answered_higher = _decision(demo_router, query="escalated", answer_tier=MIDDLE)
    Feedback.objects.create(decision_id=answered_higher.id, rating="down", user=operator)
    _decision(
        demo_router,
        query="truncated then answered",
        escalations=2,
        answer_tier=BEST,
        attempts=[
            {"tier": CHEAP, "outcome": "truncated"},
            {"tier": MIDDLE, "outcome": "timeout"},  # a transport failure says nothing of quality
            {"tier": BEST, "outcome": "ok"},
        ],
    )
    _decision(demo_router, query="asked again", reasked=True)
    counts = outcomes_collect(router=demo_router)
    assert counts == {"thumbs": 2, "escalation": 1, "reask": 1}
    found = sorted(Outcome.objects.values_list("query", "tier", "good", "source"))
    assert found == [
        ("asked again", CHEAP, False, "reask"),
        ("escalated", MIDDLE, False, "thumbs"),
        ("liked", CHEAP, True, "thumbs"),
        ("truncated then answered", CHEAP, False, "escalation"),
    ]
    # Idempotent, and a changed rating updates its outcome.
    Feedback.objects.filter(decision_id=liked.id).update(rating="down")
    assert outcomes_collect(router=demo_router) == {"thumbs": 0, "escalation": 0, "reask": 0}
    assert Outcome.objects.count() == 4
    assert Outcome.objects.get(query="liked").good is False


def test_fit_installs_a_head_and_the_quality_target_routes_by_it(demo_router, committed):
    before = decide(router=demo_router, query=EASY_QUERY)
    outcomes_import(router=demo_router, rows=known_outcomes())
    revision = Router.objects.get(pk=demo_router.pk).revision
    with committed():
        training = quality_training_start(router=demo_router)
    training.refresh_from_db()
    assert training.state == "done", training.error
    assert training.metrics["best_tier"] == BEST
    assert training.metrics["tiers"][CHEAP]["auc"] == 1.0
    assert "skipped" in training.metrics["tiers"][MIDDLE]  # no outcomes for the middle tier
    head = FittedQualityHead.objects.get(router=demo_router)
    assert training.head_id == head.pk
    router = Router.objects.get(pk=demo_router.pk)
    assert router.revision != revision  # workers recompile with the head

    # A head without a target changes nothing.
    assert decide(router=router, query=EASY_QUERY).tier == before.tier
    # 100%: not one of the held-out hard queries may go to the cheap tier.
    router = router_policy_update(router=router, changes={"quality_target": 1.0})
    easy = decide(router=router, query=EASY_QUERY)
    hard = decide(router=router, query=HARD_QUERY)
    assert easy.tier == CHEAP and easy.trace.tier_predictions[0].good_enough
    assert hard.tier == BEST and not hard.trace.tier_predictions[0].good_enough
    assert [p.tier for p in hard.trace.tier_predictions] == [CHEAP]

    quality_head_remove(router=router)
    router = Router.objects.get(pk=router.pk)
    assert decide(router=router, query=EASY_QUERY).trace.tier_predictions == []


def test_a_fit_without_enough_outcomes_fails_and_says_why(demo_router, committed):
    outcome_record(router=demo_router, query="hi", tier=CHEAP, good=True, source="judge")
    with committed():
        training = quality_training_start(router=demo_router)
    training = QualityTraining.objects.get(pk=training.pk)
    assert training.state == "failed"
    assert training.error.startswith("Not enough outcomes to fit any tier (gpt-4o-mini: needs 20")
    assert not FittedQualityHead.objects.exists()


def test_training_refuses_an_unknown_method(demo_router):
    with pytest.raises(OutcomeRefused, match="Unknown method 'forest'"):
        quality_training_start(router=demo_router, method="forest")
