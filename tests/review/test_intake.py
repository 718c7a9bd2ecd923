"""Every source puts a decision in the review queue; duplicates collapse; console decisions stay out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.decision_log import decision_log
from analytics.models import DecisionLog
from analytics.review.models import ReviewDecision, ReviewItem
from analytics.services import decision_record, decisions_reask_detect
from routing.decide import decide
from tests.review.conftest import sampled_id, unsampled_id
from tests.wire.openai_server import ChatReply

pytestmark = pytest.mark.django_db

CONFIDENT = "where is my parcel"  # shipping, 0.99
LOW = "my card"  # small_talk 0.475: inside the demo's ambiguity band 0.25-0.5
OUT_OF_SCOPE = "how do I bake sourdough bread"


@pytest.fixture(autouse=True)
def _no_sample(settings):
    settings.SEMROUTE_REVIEW_SAMPLE_RATE = 0.01


def _record(router, query, *, decision_id=None, channel="api", session=None):
    decision = decide(router=router, query=query)
    decision_id = decision_record(
        router=router,
        query=query,
        decision=decision,
        principal=None,
        channel=channel,
        session_ref=session,
        decision_id=decision_id or unsampled_id(),
    )
    decision_log.flush()
    return decision_id


def _item_of(decision_id) -> ReviewItem:
    return ReviewDecision.objects.select_related("item").get(decision_id=decision_id).item


def test_a_confident_decision_outside_the_sample_makes_no_item(demo_router):
    _record(demo_router, CONFIDENT)
    assert ReviewItem.objects.count() == 0


def test_low_confidence_opens_an_item_with_the_nearest_examples_suggestion(demo_router):
    decision_id = _record(demo_router, LOW)
    item = _item_of(decision_id)
    assert item.reasons == ["low_confidence"]
    assert (item.query, item.decided_intent, item.status, item.count) == (
        LOW,
        "small_talk",
        "open",
        1,
    )
    assert item.suggestion_source == "nearest"
    row = DecisionLog.objects.get(pk=decision_id)
    assert item.suggested_intent == row.trace["nearest_examples"][0]["intent"]


def test_out_of_scope_answer_opens_an_item(demo_router):
    item = _item_of(_record(demo_router, OUT_OF_SCOPE))
    assert item.reasons == ["out_of_scope"]
    assert item.decided_intent is None


def test_a_sampled_confident_decision_opens_a_sample_item(demo_router):
    item = _item_of(_record(demo_router, CONFIDENT, decision_id=sampled_id()))
    assert item.reasons == ["sample"]
    assert ReviewDecision.objects.get(item=item).sampled is True


def _gateway_record(router, attempts: list[dict]):
    decision_id = decision_record(
        router=router,
        query=CONFIDENT,
        decision=decide(router=router, query=CONFIDENT),
        principal=None,
        channel="gateway",
        decision_id=unsampled_id(),
        gateway_facts={"escalations": 1, "answer_tier": "gpt-4o", "attempts": attempts},
    )
    decision_log.flush()
    return decision_id


def test_a_gateway_escalation_past_an_unusable_answer_opens_an_item(demo_router):
    decision_id = _gateway_record(
        demo_router,
        [{"tier": "gpt-4o-mini", "outcome": "truncated"}, {"tier": "gpt-4o", "outcome": "ok"}],
    )
    assert _item_of(decision_id).reasons == ["escalated"]


def test_a_gateway_escalation_past_a_tier_that_was_down_opens_no_item(demo_router):
    _gateway_record(
        demo_router,
        [{"tier": "gpt-4o-mini", "outcome": "missing_key"}, {"tier": "gpt-4o", "outcome": "ok"}],
    )
    _gateway_record(demo_router, [{"tier": "gpt-4o-mini", "outcome": "server_error"}])
    assert ReviewItem.objects.count() == 0


def test_llm_disagreeing_with_the_embedding_stage_opens_an_item_suggesting_its_answer(
    demo_router, openai_server
):
    from decimal import Decimal

    from routing.models import ModelTier
    from routing.services.versioning import config_object_save, router_policy_update

    config_object_save(
        obj=ModelTier(
            router=demo_router,
            name="local-llm",
            rank=0,
            provider="openai-compatible",
            model="tiny",
            base_url=openai_server.base_url,
            price_in_per_mtok=Decimal("0.01"),
            price_out_per_mtok=Decimal("0.02"),
            quality=0.3,
        )
    )
    router_policy_update(router=demo_router, changes={"ambiguity_low": 0.0, "ambiguity_high": 1.0})
    demo_router.refresh_from_db()
    openai_server.default_chat_reply = ChatReply(content='{"intent": "billing"}')
    item = _item_of(_record(demo_router, CONFIDENT))
    # The whole band is ambiguous now, so the item is low confidence too.
    assert set(item.reasons) == {"disagreement", "low_confidence"}
    assert (item.decided_intent, item.suggested_intent, item.suggestion_source) == (
        "billing",
        "billing",
        "llm",
    )


def test_console_decisions_never_enter_the_queue_on_their_own(demo_router):
    _record(demo_router, OUT_OF_SCOPE, channel="playground")
    _record(demo_router, OUT_OF_SCOPE, channel="console")
    assert ReviewItem.objects.count() == 0
    assert DecisionLog.objects.filter(channel__in=["playground", "console"]).count() == 2


def test_duplicates_and_near_duplicates_collapse_into_one_item_with_a_count(demo_router):
    first = _record(demo_router, OUT_OF_SCOPE)
    _record(demo_router, OUT_OF_SCOPE)
    _record(demo_router, "How do I bake sourdough bread?")  # near: punctuation and case
    _record(demo_router, "what's the weather in Paris tomorrow")
    item = _item_of(first)
    assert item.count == 3
    assert ReviewDecision.objects.filter(item=item).count() == 3
    assert ReviewItem.objects.count() == 2


def _record_unflushed(router, query, *, session=None):
    decision = decide(router=router, query=query)
    return decision_record(
        router=router,
        query=query,
        decision=decision,
        principal=None,
        session_ref=session,
        decision_id=unsampled_id(),
    )


def test_one_written_batch_collapses_its_duplicates_and_joins_open_items(demo_router):
    # Written as one batch: an open item joined twice gets count + 2 from one update; a query new
    # to the queue opens an item that later rows of the same batch join.
    first = _record(demo_router, OUT_OF_SCOPE)
    batch = [
        _record_unflushed(demo_router, query)
        for query in (
            OUT_OF_SCOPE,
            "How do I bake sourdough bread?",
            "what's the weather in Paris tomorrow",
            "what is the weather in Paris tomorrow",  # near, in the same batch
            "what's the weather in paris tomorrow",
        )
    ]
    decision_log.flush()
    bread, weather = _item_of(first), _item_of(batch[2])
    assert (bread.count, weather.count) == (3, 3)
    assert [_item_of(decision_id).pk for decision_id in batch] == [bread.pk] * 2 + [weather.pk] * 3
    assert ReviewItem.objects.count() == 2
    assert ReviewDecision.objects.count() == 6


def test_the_hook_costs_confident_traffic_without_a_session_one_query(
    demo_router, django_assert_num_queries
):
    from analytics.review.tasks import decisions_written

    ids = [_record_unflushed(demo_router, CONFIDENT) for _ in range(5)]
    decision_log.flush()
    rows = list(DecisionLog.objects.filter(pk__in=ids))
    with django_assert_num_queries(1):  # the routers' ambiguity bands; no task, no row read
        decisions_written(rows)
    assert ReviewItem.objects.count() == 0


def test_intake_twice_is_harmless(demo_router):
    from analytics.review.intake import review_intake

    decision_id = _record(demo_router, OUT_OF_SCOPE)
    review_intake(decision_ids=[decision_id])
    assert _item_of(decision_id).count == 1
    assert ReviewDecision.objects.count() == 1


# Re-asks -----------------------------------------------------------------------------------------


def test_a_similar_query_from_the_same_session_marks_the_earlier_decision_reasked(demo_router):
    earlier = _record(demo_router, "I want my money back", session="s1")
    later = _record(demo_router, "I would like my money back please", session="s1")
    assert DecisionLog.objects.get(pk=earlier).reasked is True
    assert DecisionLog.objects.get(pk=later).reasked is False
    assert "reasked" in _item_of(earlier).reasons


def test_a_reask_written_before_the_question_it_repeats_still_counts(demo_router):
    # Two workers: the follow-up's batch reaches the log before the first question's does.
    later = _record(demo_router, "I would like my money back please", session="s1")
    earlier = decision_record(
        router=demo_router,
        query="I want my money back",
        decision=decide(router=demo_router, query="I want my money back"),
        principal=None,
        session_ref="s1",
        decision_id=unsampled_id(),
    )
    DecisionLog.objects.filter(pk=later).update(created_at=timezone.now() + timedelta(seconds=1))
    decision_log.flush()
    assert DecisionLog.objects.get(pk=earlier).reasked is True
    assert DecisionLog.objects.get(pk=later).reasked is False
    assert "reasked" in _item_of(earlier).reasons


def test_another_session_or_an_unrelated_query_is_no_reask(demo_router):
    first = _record(demo_router, "I want my money back", session="s1")
    _record(demo_router, "I would like my money back please", session="s2")
    _record(demo_router, "where is my parcel", session="s1")
    assert DecisionLog.objects.get(pk=first).reasked is False


def test_a_reask_after_the_window_does_not_count(demo_router, settings):
    settings.SEMROUTE_REASK_WINDOW_SECONDS = 300
    first = _record(demo_router, "I want my money back", session="s1")
    DecisionLog.objects.filter(pk=first).update(created_at=timezone.now() - timedelta(minutes=6))
    _record(demo_router, "I would like my money back please", session="s1")
    assert DecisionLog.objects.get(pk=first).reasked is False


def test_reask_similarity_is_the_setting(demo_router, settings):
    # The two queries' cosine is between 0.85 and 0.999: only the lower bar marks a re-ask.
    settings.SEMROUTE_REASK_SIMILARITY = 0.999
    first = _record(demo_router, "I want my money back", session="s1")
    second = _record(demo_router, "I would like my money back please", session="s1")
    assert DecisionLog.objects.get(pk=first).reasked is False
    settings.SEMROUTE_REASK_SIMILARITY = 0.85
    rows = list(DecisionLog.objects.filter(pk__in=[first, second]))
    assert decisions_reask_detect(rows=rows) == [first]
