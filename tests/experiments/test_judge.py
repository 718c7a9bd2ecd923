"""The LLM judge with local servers playing the strong model (Anthropic's wire format) and the
judge (OpenAI's): sampling, the fixed pairwise prompt in a random order, strict verdict parsing
that survives malformed replies, failures, the daily budget, and the outcome label."""

from __future__ import annotations

import json
import random
import uuid

import pytest

from analytics.experiments import judge
from analytics.experiments.budget import judge_settings_save, spend_today
from analytics.experiments.judge import (
    JUDGE_SYSTEM_PROMPT,
    gateway_answered,
    verdict_outcome,
    verdict_parse,
)
from analytics.experiments.models import JudgeVerdict
from analytics.experiments.reports import judge_summary
from analytics.outcomes.models import Outcome
from routing.decide import decide
from tests.experiments.conftest import CHEAP, JUDGE, STRONG
from tests.wire.anthropic_server import MessageReply
from tests.wire.openai_server import ChatReply

QUESTION = [{"role": "user", "content": "How do I get a refund for a broken blender?"}]
CHEAP_ANSWER = "Open Orders, pick the blender and press Refund."


def _answered(router, *, tier=CHEAP, answer=CHEAP_ANSWER, decision_id=None):
    decision = decide(router=router, query=QUESTION[0]["content"])
    gateway_answered(
        router=router,
        decision_id=decision_id or uuid.uuid4(),
        decision=decision,
        messages=QUESTION,
        answer=answer,
        tier=tier,
    )


@pytest.fixture
def judged_router(wire_router):
    judge_settings_save(router_id=wire_router.pk, sample_percent=100, judge_tier=JUDGE)
    return wire_router


def test_the_answering_request_only_draws_and_hands_the_sample_over(
    judged_router, monkeypatch, django_assert_num_queries
):
    handed = []
    monkeypatch.setattr(judge, "task_send_unawaited", lambda task, *args: handed.append(args))
    decision = decide(router=judged_router, query=QUESTION[0]["content"])
    judge.judge_settings(judged_router.pk)  # the worker's copy of the settings (5 s)
    decision_id = uuid.uuid4()

    with django_assert_num_queries(0):  # the verdict row is the task's work, not the request's
        gateway_answered(
            router=judged_router,
            decision_id=decision_id,
            decision=decision,
            messages=QUESTION,
            answer=CHEAP_ANSWER,
            tier=CHEAP,
        )

    assert handed == [(judged_router.pk, str(decision_id), "refund", QUESTION, CHEAP_ANSWER, CHEAP)]
    assert not JudgeVerdict.objects.exists()


@pytest.mark.parametrize("sampled_first", [True, False])
def test_a_sampled_answer_is_answered_again_and_judged(
    judged_router, anthropic_server, judge_server, committed, monkeypatch, sampled_first
):
    monkeypatch.setattr(judge, "_random", random.Random(0))
    monkeypatch.setattr(judge._random, "random", lambda: 0.0 if sampled_first else 0.99)
    judge_settings_save(router_id=judged_router.pk, sample_percent=100.0, judge_tier=JUDGE)
    anthropic_server.replies.append(MessageReply(text="Go to Orders and choose Refund."))
    judge_server.chat_replies.append(ChatReply(content='{"verdict": "B", "reason": "clearer"}'))
    with committed():
        _answered(judged_router)

    verdict = JudgeVerdict.objects.get()
    assert verdict.state == "done", verdict.error
    assert (verdict.tier, verdict.strong_tier, verdict.judge_tier) == (CHEAP, STRONG, JUDGE)
    assert verdict.strong_answer == "Go to Orders and choose Refund."
    assert verdict.sampled_first is sampled_first
    assert verdict.preferred_position == "B"
    # B is the second answer shown: the sampled one when it was shown second.
    assert verdict.verdict == ("worse" if sampled_first else "better")
    assert verdict.reason == "clearer"
    assert verdict.intent == "refund"

    (strong_request,) = anthropic_server.requests_to("/v1/messages")
    assert strong_request["messages"] == QUESTION
    (judge_request,) = judge_server.requests_to("/v1/chat/completions")
    assert judge_request["temperature"] == 0.0
    assert judge_request["response_format"] == {"type": "json_object"}
    assert judge_request["messages"][0] == {"role": "system", "content": JUDGE_SYSTEM_PROMPT}
    shown = judge_request["messages"][1]["content"]
    first, second = (
        (CHEAP_ANSWER, "Go to Orders and choose Refund.")
        if sampled_first
        else ("Go to Orders and choose Refund.", CHEAP_ANSWER)
    )
    assert f"<answer_a>\n{first}\n</answer_a>" in shown
    assert f"<answer_b>\n{second}\n</answer_b>" in shown
    assert "user: How do I get a refund for a broken blender?" in shown
    # Token use at the tiers' prices: the Anthropic server reports 12 in / 6 out, OpenAI's 10 / 5.
    assert verdict.cost_usd == pytest.approx((12 * 3.0 + 6 * 15.0 + 10 * 2.5 + 5 * 10.0) / 1e6)
    assert spend_today(judged_router.pk).judge_calls == 1


def test_the_order_is_randomised_and_position_bias_is_measured(judged_router, monkeypatch):
    monkeypatch.setattr(judge, "_random", random.Random(1))
    for _ in range(40):
        _answered(judged_router)  # queued only: the after-commit task does not run here
    orders = list(JudgeVerdict.objects.values_list("sampled_first", flat=True))
    assert len(orders) == 40
    assert 0 < sum(orders) < 40
    # The judge always prefers the first-shown answer: the summary shows the bias.
    JudgeVerdict.objects.update(state="done", preferred_position="A", verdict="same")
    for verdict in JudgeVerdict.objects.all():
        verdict.verdict = judge.sampled_verdict("A", sampled_first=verdict.sampled_first)
        verdict.save()
    summary = judge_summary(judged_router)
    bias = summary["position_bias"]
    assert bias["first_shown_preferred"]["value"] == 1.0
    assert bias["test"]["enough_sample"] is True
    assert bias["test"]["p_value"] < 1e-6
    assert summary["as_good_as_best"]["successes"] == sum(orders)


@pytest.mark.parametrize(
    ("reply", "position", "error"),
    [
        ('{"verdict": "A", "reason": "more accurate"}', "A", ""),
        ('```json\n{"verdict": "same", "reason": "equal"}\n```', "same", ""),
        ('{"verdict": "b", "reason": "x", "confidence": 0.9}', "B", ""),
        ("The first answer is better.", None, "not JSON"),
        ('{"verdict": "A", "reason": "ok"} and more text', None, "not JSON"),
        ('["A"]', None, "not a JSON object"),
        ('{"reason": "no verdict"}', None, "no string 'verdict'"),
        ('{"verdict": "first", "reason": "x"}', None, "is not A, B or same"),
        ('{"verdict": "A", "reason": 3}', None, "'reason' is not a string"),
        ("", None, "not JSON"),
        (None, None, "not JSON"),
        ("[" * 100_000, None, "not JSON"),
    ],
)
def test_verdict_parsing_is_strict_and_never_raises(reply, position, error):
    parsed, _, problem = verdict_parse(reply)
    assert parsed == position
    if error:
        assert error in problem
    else:
        assert problem == ""


def test_a_malformed_verdict_is_kept_as_invalid(
    judged_router, anthropic_server, judge_server, committed
):
    anthropic_server.replies.append(MessageReply(text="Strong answer."))
    judge_server.chat_replies.append(ChatReply(content="I think A wins"))
    with committed():
        _answered(judged_router)
    verdict = JudgeVerdict.objects.get()
    assert (verdict.state, verdict.verdict, verdict.raw_reply) == (
        "done",
        "invalid",
        "I think A wins",
    )
    assert verdict.error.startswith("not JSON")
    assert verdict_outcome(verdict) is None
    assert not Outcome.objects.filter(router=judged_router).exists()
    assert judge_summary(judged_router)["invalid"] == 1


def test_a_failing_strong_tier_fails_the_verdict_without_raising(
    judged_router, anthropic_server, judge_server, committed
):
    anthropic_server.replies.append(MessageReply(status=529))
    with committed():
        _answered(judged_router)
    verdict = JudgeVerdict.objects.get()
    assert verdict.state == "failed"
    assert "529" in verdict.error
    assert judge_server.requests_to("/v1/chat/completions") == []


def test_only_tiers_below_the_most_expensive_are_judged(judged_router, anthropic_server):
    _answered(judged_router, tier=STRONG)
    assert JudgeVerdict.objects.count() == 0


def test_sampling_respects_the_share(wire_router, monkeypatch):
    judge_settings_save(router_id=wire_router.pk, sample_percent=0.0)
    for _ in range(20):
        _answered(wire_router)
    assert JudgeVerdict.objects.count() == 0
    assert judge.judge_settings(wire_router.pk).sample_percent == 0.0
    from analytics.experiments.models import JudgeSettings

    assert JudgeSettings().sample_percent == 2.0  # the documented default


def test_the_daily_budget_stops_sampling_and_says_so(
    judged_router, anthropic_server, judge_server, committed
):
    judge_settings_save(router_id=judged_router.pk, daily_budget_usd=0.0001)
    with committed():
        _answered(judged_router)  # costs 0.000201: over the budget after this one
    with committed():
        _answered(judged_router)
        _answered(judged_router)
    assert JudgeVerdict.objects.count() == 1
    spend = spend_today(judged_router.pk)
    assert spend.skipped_over_budget == 2
    summary = judge_summary(judged_router)
    assert summary["budget_reached"] is True
    assert summary["skipped_over_budget_today"] == 2


def test_a_verdict_becomes_an_outcome_label(
    judged_router, anthropic_server, judge_server, committed
):
    anthropic_server.replies.append(MessageReply(text="Strong."))
    judge_server.chat_replies.append(
        ChatReply(content=json.dumps({"verdict": "same", "reason": ""}))
    )
    with committed():
        _answered(judged_router)
    verdict = JudgeVerdict.objects.get()
    assert verdict_outcome(verdict) == (QUESTION[0]["content"], CHEAP, True)
    [outcome] = Outcome.objects.filter(router=judged_router)
    assert (outcome.query, outcome.tier, outcome.good, outcome.source) == (
        QUESTION[0]["content"],
        CHEAP,
        True,
        "judge",
    )
    assert outcome.decision_id == verdict.decision_id


def test_the_hook_never_raises(wire_router):
    judge_settings_save(router_id=wire_router.pk, sample_percent=100)
    gateway_answered(
        router=wire_router,
        decision_id="not-a-uuid",
        decision=None,
        messages=[],
        answer="x",
        tier=CHEAP,
    )
    assert JudgeVerdict.objects.count() == 0
